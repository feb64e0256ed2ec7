"""The plan's update log in the database: appends, compaction, and loading after years of edits."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Text
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases.models import Case
from app.collab import PlanStore
from app.coordination.models import PlanSnapshot, PlanUpdate

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
