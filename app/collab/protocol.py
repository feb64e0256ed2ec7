"""The y-websocket protocol as the plan channel speaks it: message types, awareness bytes, colours."""

from __future__ import annotations

from pycrdt import Decoder, write_var_uint

MAX_FRAME = 1024 * 1024  # larger frames close the connection (1009)
COLOURS = [
    "#154273",
    "#b3261e",
    "#2e7d32",
    "#8a5a00",
    "#6a1b9a",
    "#00695c",
    "#ad1457",
    "#37474f",
    "#e65100",
    "#1565c0",
]

MSG_SYNC = 0
MSG_AWARENESS = 1
MSG_AUTH = 2
MSG_QUERY_AWARENESS = 3


class ProtocolError(Exception):
    """A frame that is not y-websocket: the connection is closed, the room is unharmed."""


def colour_for(user_id: int) -> str:
    return COLOURS[user_id % len(COLOURS)]


def encode_awareness(entries: list[tuple[int, int, str]]) -> bytes:
    """Awareness update bytes: count, then (client id, clock, JSON state) per entry."""
    out = bytearray(write_var_uint(len(entries)))
    for client_id, clock, state in entries:
        data = state.encode()
        out += write_var_uint(client_id) + write_var_uint(clock) + write_var_uint(len(data)) + data
    return bytes(out)


def decode_awareness(update: bytes) -> list[tuple[int, int, str]]:
    decoder = Decoder(update)
    entries = []
    for _ in range(decoder.read_var_uint()):
        entries.append(
            (decoder.read_var_uint(), decoder.read_var_uint(), decoder.read_var_string())
        )
    return entries
