"""`crm config`: read and change settings.

A password in `database.url` is shown as `***` by every command here unless `--show-secrets`
is given: `crm config list` ends up in screenshots and bug reports.
"""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli.cli import common
from crm_cli.cli.common import JsonOpt

app = typer.Typer(help="Settings: your name, the database, defaults.", no_args_is_help=True)

KeyArg = Annotated[str, typer.Argument(help="A key, e.g. user.name (see `crm config list`).")]
SecretsOpt = Annotated[
    bool,
    typer.Option("--show-secrets", help="Show the password in database.url instead of ***."),
]


@app.command("list")
def list_(json_: JsonOpt = False, show_secrets: SecretsOpt = False) -> None:
    """Show every setting, its value and what it does.

    Example: crm config list
    """
    from crm_cli import config
    from crm_cli.render.output import Column, emit_rows

    cfg = config.load()
    rows = [
        {
            "key": k.name,
            "value": config.shown_value(k.name, cfg.values.get(k.name), secrets=show_secrets),
            "default": k.default,
            "help": k.help,
        }
        for k in config.KEYS.values()
    ]
    if json_:
        from crm_cli.render.output import write_json

        write_json({r["key"]: r["value"] if r["value"] is not None else r["default"] for r in rows})
        return
    emit_rows(
        rows,
        [
            Column("key", "Key"),
            Column("value", "Value", lambda v: v),
            Column("default", "Default"),
            Column("help", "Meaning"),
        ],
        "table",
    )


@app.command("get")
def get(key: KeyArg, show_secrets: SecretsOpt = False) -> None:
    """Print one setting's value (empty when unset).

    Example: crm config get defaults.currency
    """
    from crm_cli import config

    value = config.shown_value(key, config.load().get(key), secrets=show_secrets)
    print(value if value is not None else "")


@app.command("set")
def set_(
    key: KeyArg,
    value: Annotated[str, typer.Argument(help="The new value.")],
    show_secrets: SecretsOpt = False,
) -> None:
    """Change a setting; the value is checked first.

    Example: crm config set defaults.phone_region DE
    """
    from crm_cli import config

    stored = config.set_value(key, value)
    common.done(f"{key} = {config.shown_value(key, stored, secrets=show_secrets)}")


@app.command("unset")
def unset(key: KeyArg) -> None:
    """Remove a setting, back to its default.

    Example: crm config unset database.url
    """
    from crm_cli import config

    config.unset_value(key)
    common.done(f"{key} unset")


@app.command("path")
def path() -> None:
    """Print where the config file lives.

    Example: crm config path
    """
    from crm_cli import paths

    print(paths.config_path())
