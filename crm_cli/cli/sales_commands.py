"""The sales commands: pipelines, deals, follow-ups, the interaction log and feedback."""

from __future__ import annotations

import importlib

import typer

# (module under crm_cli.cli, command name, attribute holding its Typer app)
SALES_APPS = [
    ("pipeline", "pipeline"),
    ("deal", "deal"),
    ("followup", "followup"),
    ("log", "log"),
    ("feedback", "feedback"),
]


def register(app: typer.Typer) -> None:
    for module_name, command in SALES_APPS:
        try:
            module = importlib.import_module(f"crm_cli.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"crm_cli.cli.{module_name}":
                raise
            continue
        app.add_typer(module.app, name=command)
