"""`python -m app` is the command line (app/cli.py)."""

from app.cli import main

main()
