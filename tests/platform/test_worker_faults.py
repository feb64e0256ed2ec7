"""An arq worker killed in the middle of sending an e-mail: the delivery is taken over by the next
run, and the recipient gets the message exactly once. A real SMTP server (aiosmtpd) that is slow
to accept holds the first delivery open while the worker is killed (SIGKILL: no clean-up)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import create_engine, session_factory
from app.mail import OutboundMessage, queue
from app.main import create_app
from app.settings import ROOT
from tests.conftest import TEST_REDIS_URL, TEST_SECRET, settings_for
from tests.support import clock
from tests.support.collab_helpers import copy_db
from tests.support.faults import REDIS_SERVER, PrivateRedis, private_redis
from tests.support.live import free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]


class SlowInbox:
    """Holds the first message before accepting it, as a busy mail server may."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        self.first = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.first:
            self.first = False
            self.holding.set()
            await asyncio.to_thread(self.release.wait)  # the test's thread lets go
            if server.transport is None or server.transport.is_closing():
                # The sender vanished before our 250: we never took responsibility (RFC 5321).
                return "421 verbinding verbroken"
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[SlowInbox, int]]:
    port = free_port()
    handler = SlowInbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        handler.release.set()
        controller.stop()


def queue_reminders(url: str, messages: list[tuple[str, str, str]]) -> None:
    """Queue e-mails (dedupe key, recipient, subject) as the app's jobs do."""

    async def put() -> None:
        engine = create_engine(url)
        async with session_factory(engine)() as s, s.begin():
            for key, recipient, subject in messages:
                await queue(
                    s,
                    kind="herinnering",
                    dedupe_key=key,
                    recipient=recipient,
                    subject=subject,
                    body_text="Er staat een actie voor u klaar.",
                )
        await engine.dispose()

    asyncio.run(put())


def worker_env(url: str, redis: PrivateRedis, folder: Path, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis.url,
        "DATA_DIR": str(folder),
        "SECRET_KEY": TEST_SECRET,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_STARTTLS": "false",
    }


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            clock.module_command("app.cli", "worker"),
            cwd=ROOT,
            env={**env, **clock.child_env()},
            stdout=out,
            stderr=out,
        )


def enqueue(redis: PrivateRedis, job: str) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings

    async def run() -> None:
        pool = await create_pool(RedisSettings.from_dsn(redis.url))
        await pool.enqueue_job(job)
        await pool.aclose()

    asyncio.run(run())


def outbound(url: str) -> list[tuple[str, int]]:
    async def read() -> list[tuple[str, int]]:
        engine = create_engine(url)
        async with session_factory(engine)() as s:
            rows = (await s.scalars(select(OutboundMessage))).all()
            result = [(m.status, m.attempts) for m in rows]
        await engine.dispose()
        return result

    return asyncio.run(read())


def wait_until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_worker_killed_mid_delivery_is_taken_over_without_a_duplicate(
    tmp_path: Path, sqlite_templates: dict[str, Path], inbox: tuple[SlowInbox, int]
) -> None:
    if not TEST_REDIS_URL or REDIS_SERVER is None:
        pytest.skip("Redis-suite overgeslagen: TEST_REDIS_URL of redis-server ontbreekt")
    handler, smtp_port = inbox
    url = copy_db(sqlite_templates["empty"], tmp_path / "db")

    queue_reminders(
        url,
        [("test:worker-kill:1", "casemanager@reclassering.example", "Herinnering: actie FRL-0001")],
    )
    with private_redis(tmp_path) as redis:
        env = {**worker_env(url, redis, tmp_path, smtp_port), "MAIL_CLAIM_LEASE_SECONDS": "2"}
        first = start_worker(env, tmp_path / "worker-1.log")
        try:
            enqueue(redis, "deliver_mail")
            assert handler.holding.wait(30), (tmp_path / "worker-1.log").read_text()[-2000:]
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        handler.release.set()
        assert outbound(url) == [("sending", 1)]  # claimed, not delivered, not forgotten
        assert handler.messages == []
        time.sleep(2.5)  # the claim's lease runs out
        second = start_worker(env, tmp_path / "worker-2.log")
        try:
            enqueue(redis, "deliver_mail")
            wait_until(lambda: outbound(url) == [("sent", 2)], 40, "the message was not taken over")
            enqueue(redis, "deliver_mail")  # and again: nothing left to send
            enqueue(redis, "deliver_mail")
            time.sleep(3)
        finally:
            second.terminate()
            second.wait(15)
    assert len(handler.messages) == 1
    message = handler.messages[0]
    assert message["Subject"] == "Herinnering: actie FRL-0001"
    assert message["Message-ID"].endswith("@ketentafel>")


async def health(url: str, redis: PrivateRedis, folder: Path) -> dict[str, Any]:
    app = create_app(settings_for(url, folder, redis_url=redis.url, run_jobs_in_process=False))
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        return dict((await client.get("/health")).json())


def test_two_workers_deliver_each_message_once(
    tmp_path: Path, sqlite_templates: dict[str, Path], inbox: tuple[SlowInbox, int]
) -> None:
    if not TEST_REDIS_URL or REDIS_SERVER is None:
        pytest.skip("Redis-suite overgeslagen: TEST_REDIS_URL of redis-server ontbreekt")
    handler, smtp_port = inbox
    handler.first = False  # a mail server that answers at once
    url = copy_db(sqlite_templates["empty"], tmp_path / "db")

    queue_reminders(
        url,
        [
            (f"test:two-workers:{n}", f"partner{n}@ggz-friesland.example", f"Herinnering {n}")
            for n in range(30)
        ],
    )
    with private_redis(tmp_path) as redis:
        assert asyncio.run(health(url, redis, tmp_path))["worker"] == "geen worker actief"
        env = worker_env(url, redis, tmp_path, smtp_port)
        workers = [start_worker(env, tmp_path / f"worker-{n}.log") for n in range(2)]
        try:
            wait_until(  # the workers are up: /health sees their heartbeat
                lambda: asyncio.run(health(url, redis, tmp_path))["worker"] == "ok",
                45,
                "/health never saw a worker",
            )
            time.sleep(2)  # and the second one too, most likely
            for _ in range(6):
                enqueue(redis, "deliver_mail")
            wait_until(
                lambda: all(status == "sent" for status, _ in outbound(url)), 60, "not all sent"
            )
            time.sleep(2)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(15)
    subjects = sorted(str(m["Subject"]) for m in handler.messages)
    assert subjects == sorted(f"Herinnering {n}" for n in range(30))  # each once, none twice
