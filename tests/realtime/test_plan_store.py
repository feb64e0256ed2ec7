"""The plan's update log in the database: appends, compaction, and loading after years of edits."""

from __future__ import annotations

import asyncio
from typing import Any

from pycrdt import Doc, Text, create_update_message, handle_sync_message
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases.models import Case
from app.collab.models import PlanSnapshot, PlanUpdate
from app.collab.server import CollabServer
from app.collab.store import PlanStore

SECTIONS = ["doel", "onderdak"]


class Typist:
    """A Yjs document that types into a section and hands out each keystroke as an update."""

    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get("onderdak", type=Text)

    def type(self, chars: str) -> list[bytes]:
        updates = []
        for char in chars:
            before = self.doc.get_state()
            self.text += char
            updates.append(self.doc.get_update(before))
        return updates


async def a_case(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.min(Case.id))) or 0)


async def log_rows(sessions: async_sessionmaker[AsyncSession], case_id: int) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(PlanUpdate).where(PlanUpdate.case_id == case_id)
            )
            or 0
        )


async def test_compaction_folds_the_log_into_a_snapshot_and_keeps_the_text(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = PlanStore(sessions)
    try:
        case_id = await a_case(sessions)
        typist = Typist()
        for update in typist.type("Nachtopvang "):
            await store.append_many([(case_id, update)])
        assert await log_rows(sessions, case_id) == len("Nachtopvang ")
        assert await store.compact(case_id, SECTIONS) == len("Nachtopvang ")
        assert await log_rows(sessions, case_id) == 0
        async with sessions() as s:
            snapshot = await s.get(PlanSnapshot, case_id)
        assert snapshot is not None
        assert snapshot.texts["onderdak"] == "Nachtopvang "
        # typing goes on after the snapshot; both parts come back on load
        await store.append_many([(case_id, u) for u in typist.type("regelen")])
        texts = await store.texts(case_id, SECTIONS)
        assert texts == {"doel": "", "onderdak": "Nachtopvang regelen"}
    finally:
        await store.close()


async def test_a_compaction_that_lost_a_race_loses_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = PlanStore(sessions)
    other = PlanStore(sessions)  # as if in another process
    try:
        case_id = await a_case(sessions)
        typist = Typist()
        await store.append_many([(case_id, u) for u in typist.type("abc")])
        await store.compact(case_id, SECTIONS)
        await store.append_many([(case_id, u) for u in typist.type("def")])
        stale = await other.squash(case_id, SECTIONS)  # `other` has read the log …
        assert stale is not None
        await store.append_many([(case_id, u) for u in typist.type("ghi")])
        assert await store.compact(case_id, SECTIONS) == 6  # … `store` compacts first …
        await store.append_many([(case_id, u) for u in typist.type("jkl")])
        assert await other.write_squashed(case_id, stale) == 0  # … so `other` gives up
        assert (await store.texts(case_id, SECTIONS))["onderdak"] == "abcdefghijkl"
        assert await log_rows(sessions, case_id) == 3
    finally:
        await store.close()
        await other.close()


async def test_rows_appended_during_a_compaction_stay_in_the_log(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = PlanStore(sessions)
    try:
        case_id = await a_case(sessions)
        typist = Typist()
        await store.append_many([(case_id, u) for u in typist.type("Werk ")])
        squashed = await store.squash(case_id, SECTIONS)
        assert squashed is not None
        await store.append_many([(case_id, u) for u in typist.type("zoeken")])
        assert await store.write_squashed(case_id, squashed) == len("Werk ")
        assert await log_rows(sessions, case_id) == len("zoeken")
        assert (await store.texts(case_id, SECTIONS))["onderdak"] == "Werk zoeken"
    finally:
        await store.close()


async def test_years_of_history_load_as_one_snapshot(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = PlanStore(sessions)
    try:
        case_id = await a_case(sessions)
        typist = Typist()
        rounds = 6
        for _ in range(rounds):  # many sessions of editing, each compacted on unload
            await store.append_many([(case_id, u) for u in typist.type("x" * 200)])
            await store.compact(case_id, SECTIONS)
        snapshot, updates, pending = await store.load(case_id)
        assert snapshot is not None
        assert updates == []
        assert pending == 0
        assert (await store.texts(case_id, SECTIONS))["onderdak"] == "x" * 200 * rounds
    finally:
        await store.close()


class Peer:
    """One client socket as CollabServer.serve sees it: frames in, frames out."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.received: list[bytes] = []
        self.greeted = asyncio.Event()  # the server's first frame (sync step 1) arrived

    async def send(self, frame: bytes) -> None:
        self.received.append(frame)
        self.greeted.set()

    def text_seen(self, section: str) -> str:
        """The section as this client's document would hold it after every frame it received."""
        doc: Doc[Any] = Doc()
        text = doc.get(section, type=Text)
        for frame in self.received:
            if frame[:1] == b"\x00" and frame[1:2] in (b"\x01", b"\x02"):
                handle_sync_message(frame[1:], doc)
        return str(text)


async def refuse_plan_updates(session: AsyncSession) -> None:
    """Make the database itself refuse every new row of the plan log (as a full disk would)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger AS "
                "$$ BEGIN RAISE EXCEPTION 'schijf vol'; END $$ LANGUAGE plpgsql"
            )
        )
        await session.execute(
            text("CREATE TRIGGER refuse BEFORE INSERT ON plan_updates EXECUTE FUNCTION refuse()")
        )
    else:
        await session.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON plan_updates "
                "BEGIN SELECT RAISE(ABORT, 'schijf vol'); END"
            )
        )


async def test_an_update_the_database_refuses_reaches_no_other_client(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Durable before visible: when the append fails, the other client never sees the edit, and
    both are disconnected (1011) so they reload what the database has."""
    case_id = await a_case(sessions)
    async with sessions() as s, s.begin():
        await refuse_plan_updates(s)
    server = CollabServer(sessions, unload_after=0.1)
    await server.start()
    writer, reader = Peer(), Peer()
    try:
        clients = [
            asyncio.create_task(
                server.serve(
                    case_id,
                    SECTIONS,
                    user_id=n,
                    name=name,
                    receive=peer.incoming.get,
                    send=peer.send,
                )
            )
            for n, (name, peer) in enumerate((("schrijver", writer), ("lezer", reader)), 1)
        ]
        await asyncio.wait_for(asyncio.gather(writer.greeted.wait(), reader.greeted.wait()), 10)
        for update in Typist().type("Geheim adres"):
            await writer.incoming.put(create_update_message(update))
        codes = await asyncio.wait_for(asyncio.gather(*clients), 10)
    finally:
        await server.stop()
    assert [code for code, _edits in codes] == [1011, 1011]
    assert reader.text_seen("onderdak") == ""
    assert await log_rows(sessions, case_id) == 0
