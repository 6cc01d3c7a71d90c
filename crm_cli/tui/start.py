"""`crm tui` started straight from the console script, before the command line is loaded.

Why: the board should be on screen within 0.6 s of the process starting, and reaching the
`tui` command through Typer (importing it and building the command) costs ~0.1-0.2 s of that
on this project's machines. So the console script (`crm_cli.complete.run`) hands the plain
forms here first: `crm tui`, `crm tui --pipeline NAME` (`-p NAME`, `--pipeline=NAME`) and
`crm tui --demo` on a demo database that exists. Anything else (`--help`, an unknown option,
no terminal, a first `--demo` that must build the database, a settings error) returns False
untouched and goes the usual way through `crm_cli.cli.tui`, which gives the same app or the
usual message and exit code.
"""

from __future__ import annotations

import os
import sys


def parse(args: list[str]) -> tuple[str | None, bool] | None:
    """(pipeline, demo) for the forms handled here, else None."""
    if not all(arg.isprintable() for arg in args):
        return None  # the CLI refuses control characters with its usual message
    pipeline: str | None = None
    demo = False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--demo" and not demo:
            demo = True
        elif arg in ("--pipeline", "-p") and rest and pipeline is None:
            pipeline = rest.pop(0)
            if pipeline.startswith("-"):
                return None
        elif arg.startswith("--pipeline=") and pipeline is None:
            pipeline = arg.removeprefix("--pipeline=")
        else:
            return None
    return pipeline, demo


def run_fast(args: list[str]) -> bool:
    """Run `crm tui ARGS` here if it is one of the plain forms; False leaves it to the CLI."""
    parsed = parse(args)
    if parsed is None or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    pipeline, demo = parsed
    import shlex

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as crm_cli.cli.run
    from crm_cli import paths
    from crm_cli.errors import CrmError, ExitCode
    from crm_cli.services.context import open_context

    if demo and not paths.demo_db_path().exists():
        return False
    try:
        ctx = open_context(demo=demo)
    except CrmError:
        return False  # the CLI says what is wrong, as it does for every command
    ctx.command = shlex.join(["crm", "tui", *args])
    from crm_cli.tui.app import make_app

    code = 0
    try:
        make_app(ctx, pipeline).run()
    except CrmError as exc:
        print(f"crm: error: {exc.message}", file=sys.stderr)
        code = int(exc.exit_code)
    except Exception as exc:
        if os.environ.get("CRM_DEBUG"):
            raise
        # As crm_cli.cli.main reports what it did not expect.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"crm: error: unexpected {type(exc).__name__}: {first} (set CRM_DEBUG=1 for details)",
            file=sys.stderr,
        )
        code = int(ExitCode.FAILURE)
    finally:
        ctx.close()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    # As crm_cli.cli.run: the work is done and every connection closed; skip the teardown.
    os._exit(code)
