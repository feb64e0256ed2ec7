"""The Burgerservicenummer check (elfproef)."""

from __future__ import annotations


def normalise_bsn(value: str) -> str:
    """Digits only; an eight-digit BSN (leading zero dropped by a spreadsheet) is padded."""
    digits = "".join(ch for ch in value.strip() if ch.isdigit())
    if len(digits) == 8 and digits == value.strip():
        digits = "0" + digits
    return digits


def is_valid_bsn(value: str) -> bool:
    """True when `value` is nine digits passing the elfproef (weights 9..2 and -1)."""
    if len(value) != 9 or not value.isdigit() or value == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(value[:8], range(9, 1, -1), strict=True)) - int(value[8])
    return total % 11 == 0


def mask_bsn(value: str) -> str:
    return "•••••" + value[-4:] if len(value) == 9 else "•••••••••"
