"""The `crm` command: the root Typer app, one sub-app per noun, and the one error handler.

Every expected failure is a `CrmError`; `main()` prints it as `crm: error: ...` on one line
and exits with its documented code. Usage errors from the parser get the same one-line form
(exit 2). Set CRM_DEBUG=1 to see a traceback for an unexpected failure.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from crm_cli import __version__
from crm_cli.cli import common, company, config, contact, db, demo, search, user
from crm_cli.errors import CrmError, ExitCode

app = typer.Typer(
    name="crm",
    help="A terminal-first CRM: contacts, companies, deals and follow-ups from the shell.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(contact.app, name="contact")
app.add_typer(company.app, name="company")
app.add_typer(user.app, name="user")
app.add_typer(config.app, name="config")
app.add_typer(db.app, name="db")
app.command("search")(search.search)
app.command("demo")(demo.demo)

try:  # the sales commands arrive with the sales core
    from crm_cli.cli import sales_commands

    sales_commands.register(app)
except ImportError:  # pragma: no cover
    pass


def _version(value: bool) -> None:
    if value:
        print(f"crm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    demo_db: Annotated[bool, typer.Option(
        "--demo", help="Use the demo database (made by `crm demo`) instead of yours.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """A terminal-first CRM: contacts, companies, deals and follow-ups from the shell.

    Example: crm contact add "Ana Lima" --email ana@acme.com --company Acme
    """
    common.set_demo(demo_db)


def main(argv: list[str] | None = None) -> int:
    """Run `crm` and return its exit code. Tests call this; the console script exits with it."""
    args = sys.argv[1:] if argv is None else argv
    common.set_demo(False)
    try:
        result = app(args=args, prog_name="crm", standalone_mode=False)
    except CrmError as exc:
        _error(exc.message)
        return int(exc.exit_code)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _error("aborted")
        return int(ExitCode.FAILURE)
    except KeyboardInterrupt:
        _error("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`crm contact list | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.OK)
    except Exception as exc:
        usage = _usage_error(exc)
        if usage is not None:
            _error(usage)
            return int(ExitCode.USAGE)
        if os.environ.get("CRM_DEBUG"):
            raise
        _error(f"unexpected {type(exc).__name__}: {exc} (set CRM_DEBUG=1 for details)")
        return int(ExitCode.FAILURE)
    finally:
        common.close_contexts()
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return int(ExitCode.OK)


def _usage_error(exc: Exception) -> str | None:
    """The parser's own errors (unknown option, missing argument, bad value), as one line."""
    from typer._click import exceptions as click_exc

    if isinstance(exc, click_exc.NoArgsIsHelpError):
        return None
    if isinstance(exc, click_exc.UsageError):
        message = exc.format_message().strip().replace("\n", " ")
        where = exc.ctx.command_path if exc.ctx is not None else "crm"
        return f"{message} (see `{where} --help`)"
    return None


def _error(message: str) -> None:
    print(f"crm: error: {message}", file=sys.stderr)
    sys.stderr.flush()
