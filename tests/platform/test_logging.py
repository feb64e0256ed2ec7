"""Logs carry request facts (method, path, status, user id) but never personal data."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.cases.models import Case
from app.db import create_engine, session_factory
from app.main import create_app
from tests.conftest import COORDINATOR_FRL, api_token, login, settings_for


async def test_requests_that_show_personal_data_leave_none_in_the_logs(
    database_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(database_url)
    async with session_factory(engine)() as s:
        case = (await s.scalars(select(Case).order_by(Case.id))).unique().first()
    await engine.dispose()
    assert case is not None
    app = create_app(settings_for(database_url, tmp_path, log_level="INFO"))
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        await login(client, COORDINATOR_FRL)
        await client.get(f"/casussen/{case.id}")
        await client.get("/casussen", params={"q": case.person.last_name})
        await client.get("/casussen", params={"q": case.person.bsn})
        headers = await api_token(client, COORDINATOR_FRL)
        await client.get("/api/v1/cases", headers=headers, params={"q": case.person.first_names})
        await client.post(
            "/api/v1/auth/token", json={"email": COORDINATOR_FRL, "password": "een-fout-wachtwoord"}
        )
    out, err = capfd.readouterr()
    logs = out + err
    assert f"path=/casussen/{case.id}" in logs or f'"path": "/casussen/{case.id}"' in logs
    for secret in (
        case.person.last_name,
        case.person.bsn,
        case.person.first_names,
        "een-fout-wachtwoord",
        COORDINATOR_FRL,
    ):
        assert secret not in logs, secret
