"""Command line: set-up (migrate, reference data, demo), serve, demo data, users, API keys.

python -m app.cli setup          # migrate + reference data + demo data on an empty database
python -m app.cli serve          # serve on HOST:PORT
python -m app.cli demo           # load demo data (refused in production)
python -m app.cli create-user E-MAIL "NAAM" ORGANISATIE --role coordinator
python -m app.cli create-api-key ORGANISATIE "NAAM"
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from app.accounts import passwords, tokens
from app.accounts import services as accounts
from app.accounts.models import Role
from app.db import create_engine, session_factory, transaction
from app.demo import is_empty, load_demo
from app.meetings.services import ensure_meetings
from app.reference.models import Organisation
from app.reference.services import load_reference_data
from app.settings import ROOT, Settings


def migrate(settings: Settings) -> None:
    if settings.is_sqlite:
        db_path = settings.database_url.split("///", 1)[-1]
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = settings.database_url
    config.attributes["skip_logging"] = True
    command.upgrade(config, "head")


async def _setup(settings: Settings, demo: bool) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            added = await load_reference_data(session)
            if any(added.values()):
                print(
                    f"Referentiegegevens geladen: {added['gemeenten']} gemeenten, {added['inrichtingen']} inrichtingen."
                )
            if demo and await is_empty(session):
                if settings.is_production:
                    print("APP_ENV=production: geen demogegevens geladen.")
                else:
                    counts = await load_demo(session)
                    print(
                        f"Demogegevens geladen: {counts['gebruikers']} gebruikers, {counts['casussen']} casussen."
                    )
                    print(
                        "Inloggen met bijvoorbeeld coordinator@fryslan.zvh.example / demo-wachtwoord"
                    )
            created = await ensure_meetings(session)
            if created:
                print(f"{created} komende overleggen ingepland.")
    finally:
        await engine.dispose()


def cmd_setup(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    migrate(settings)
    asyncio.run(_setup(settings, demo=not args.no_demo))


def cmd_demo(_args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    if settings.is_production:
        sys.exit("Demogegevens worden niet geladen als APP_ENV=production.")
    migrate(settings)

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with transaction(session_factory(engine)) as session:
                if not await is_empty(session):
                    sys.exit(
                        "De database bevat al gebruikers; demogegevens alleen op een lege database."
                    )
                counts = await load_demo(session)
                print(f"Demogegevens geladen: {counts}")
        finally:
            await engine.dispose()

    asyncio.run(run())


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = Settings.from_env()
    uvicorn.run(
        "app.main:create_served_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=1,
        access_log=False,
        log_level="warning",
        proxy_headers=False,  # X-Forwarded-For is read by the app itself, from TRUSTED_PROXIES only
        ws_per_message_deflate=False,  # Yjs sends many tiny frames; deflate triples latency
        ws_max_size=2 * 1024 * 1024,
        lifespan="on",
    )


def cmd_worker(_args: argparse.Namespace) -> None:
    from arq import run_worker

    from app.worker import WorkerSettings

    settings = Settings.from_env()
    if not settings.redis_url:
        sys.exit(
            "De worker heeft REDIS_URL nodig; zonder Redis draaien de taken in het app-proces."
        )
    run_worker(WorkerSettings)  # type: ignore[arg-type]


def cmd_create_user(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    password = args.password or getpass.getpass("Wachtwoord: ")
    problem = passwords.password_problem(password)
    if problem:
        sys.exit(problem)

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with transaction(session_factory(engine)) as session:
                org = (
                    await session.scalars(
                        select(Organisation).where(Organisation.name == args.organisation)
                    )
                ).one_or_none()
                if org is None:
                    sys.exit(f"Organisatie niet gevonden: {args.organisation}")
                user = await accounts.create_user(
                    session,
                    email=args.email,
                    name=args.name,
                    organisation_id=org.id,
                    roles={Role(r) for r in args.role},
                    password=password,
                )
                print(f"Gebruiker {user.email} aangemaakt (id {user.id}).")
        finally:
            await engine.dispose()

    asyncio.run(run())


def cmd_create_api_key(args: argparse.Namespace) -> None:
    settings = Settings.from_env()

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with transaction(session_factory(engine)) as session:
                org = (
                    await session.scalars(
                        select(Organisation).where(Organisation.name == args.organisation)
                    )
                ).one_or_none()
                if org is None:
                    sys.exit(f"Organisatie niet gevonden: {args.organisation}")
                value, _row = await tokens.issue_api_key(session, org, args.name, created_by=None)
                print(value)
        finally:
            await engine.dispose()

    asyncio.run(run())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m app.cli", description="Ketentafel beheeropdrachten"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup", help="migreren, referentiegegevens en (lege database) demogegevens")
    p.add_argument("--no-demo", action="store_true")
    p.set_defaults(func=cmd_setup)
    sub.add_parser("demo", help="demogegevens laden").set_defaults(func=cmd_demo)
    p = sub.add_parser("serve", help="de app serveren")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="de arq-worker starten (vraagt REDIS_URL)").set_defaults(
        func=cmd_worker
    )
    p = sub.add_parser("create-user", help="een gebruiker aanmaken")
    p.add_argument("email")
    p.add_argument("name")
    p.add_argument("organisation")
    p.add_argument("--role", action="append", choices=[r.value for r in Role], required=True)
    p.add_argument("--password")
    p.set_defaults(func=cmd_create_user)
    p = sub.add_parser("create-api-key", help="een API-sleutel voor een organisatie aanmaken")
    p.add_argument("organisation")
    p.add_argument("name")
    p.set_defaults(func=cmd_create_api_key)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
