"""Alembic: `upgrade head` on an empty database and `alembic check` (models and migrations agree)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from app.settings import ROOT
from tests.conftest import TEST_DATABASE_URL, _pg_execute, pg_url_for, worker_id


def _config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["skip_logging"] = True
    return config


def _upgrade_and_check(url: str) -> None:
    config = _config(url)
    command.upgrade(config, "head")
    command.check(config)  # raises when the models need a migration that is not there
    command.downgrade(config, "base")
    command.upgrade(config, "head")


def test_migrations_run_and_match_the_models_on_sqlite(tmp_path: Path) -> None:
    _upgrade_and_check(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")


@pytest.mark.postgres
def test_migrations_run_and_match_the_models_on_postgresql() -> None:
    if not TEST_DATABASE_URL:
        pytest.skip("PostgreSQL-suite overgeslagen: TEST_DATABASE_URL is niet gezet")
    name = f"kt_migrations_{worker_id()}"
    asyncio.run(
        _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    )
    try:
        _upgrade_and_check(pg_url_for(name))
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
