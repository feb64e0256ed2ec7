"""The suite's clock: KT_TEST_NOW moves "now" for the tests and for every process a test starts.

    KT_TEST_NOW=2026-12-31T22:30:00+00:00 .venv/bin/python -m pytest tests/meetings/test_agenda.py

Each test starts at that moment and time runs on from there (time-machine, tick=True). App and
worker processes that tests start run under the same clock through this launcher,

    .venv/bin/python -m tests.support.clock app.cli serve

which travels to KT_TEST_NOW (the parent hands over its own current time) and runs the module as
`python -m` would. Chromium keeps a clock of its own; `install_in_browser` sets a page's clock so
the page's scripts see the same day. Without KT_TEST_NOW everything runs on the real clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import runpy
import sys
from collections.abc import Iterator
from typing import Any

import time_machine

ENV = "KT_TEST_NOW"


def configured() -> dt.datetime | None:
    """The moment KT_TEST_NOW names, or None when the suite runs on the real clock."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{ENV} needs a UTC offset, e.g. 2026-12-31T22:30:00+00:00: {value!r}")
    return moment


@contextlib.contextmanager
def travel(moment: dt.datetime | None, *, tick: bool = True) -> Iterator[None]:
    """Run from `moment` on (the clock keeps ticking, or stands still); a no-op for None."""
    if moment is None:
        yield
        return
    with time_machine.travel(moment, tick=tick):
        yield


def module_command(module: str, *args: str) -> list[str]:
    """`python -m module args` for a child process, under this launcher (and so the test clock)."""
    return [sys.executable, "-m", "tests.support.clock", module, *args]


def child_env() -> dict[str, str]:
    """KT_TEST_NOW for a child process: this process's current (travelled) time."""
    if configured() is None:
        return {}
    return {ENV: dt.datetime.now(dt.UTC).isoformat()}


def install_in_browser(context: Any) -> None:
    """Set a Playwright browser context's clock to the test clock (it then runs on)."""
    if configured() is not None:
        context.clock.install(time=dt.datetime.now(dt.UTC))


def main() -> None:
    module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    with travel(configured()):
        runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
