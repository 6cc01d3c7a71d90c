"""The `crm` command: the root Typer app, one sub-app per noun, and the one error handler.

Every expected failure is a `CrmError`; `main()` prints it as `crm: error: ...` on one line
and exits with its documented code. Usage errors from the parser get the same one-line form
(exit 2). Set CRM_DEBUG=1 to see a traceback for an unexpected failure.

Start-up: a command such as `crm contact add` builds only the `contact` branch of the command
tree (importing one CLI module instead of all of them); `crm --help` builds the whole tree.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Annotated, Any

import typer

from crm_cli import __version__
from crm_cli.cli import common
from crm_cli.errors import CrmError, ExitCode

HELP = "A terminal-first CRM: contacts, companies, deals and follow-ups from the shell."

# noun -> (module, attribute): a Typer sub-app, or a function registered as one command.
COMMANDS: dict[str, tuple[str, str]] = {
    "contact": ("crm_cli.cli.contact", "app"),
    "company": ("crm_cli.cli.company", "app"),
    "deal": ("crm_cli.cli.deal", "app"),
    "pipeline": ("crm_cli.cli.pipeline", "app"),
    "followup": ("crm_cli.cli.followup", "app"),
    "remind": ("crm_cli.cli.remind", "remind"),
    "today": ("crm_cli.cli.today", "today"),
    "log": ("crm_cli.cli.log", "app"),
    "feedback": ("crm_cli.cli.feedback", "app"),
    "search": ("crm_cli.cli.search", "search"),
    "report": ("crm_cli.cli.report", "report"),
    "history": ("crm_cli.cli.history", "history"),
    "undo": ("crm_cli.cli.history", "undo"),
    "user": ("crm_cli.cli.user", "app"),
    "config": ("crm_cli.cli.config", "app"),
    "db": ("crm_cli.cli.db", "app"),
    "demo": ("crm_cli.cli.demo", "demo"),
    "export": ("crm_cli.cli.export", "app"),
    "import": ("crm_cli.cli.importing", "app"),
    "dupes": ("crm_cli.cli.dupes", "app"),
    "tui": ("crm_cli.cli.tui", "tui"),
}


def _version(value: bool) -> None:
    if value:
        print(f"crm {__version__}")
        raise typer.Exit()


def root(
    demo_db: Annotated[
        bool,
        typer.Option("--demo", help="Use the demo database (made by `crm demo`) instead of yours."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """A terminal-first CRM: contacts, companies, deals and follow-ups from the shell.

    Example: crm contact add "Ana Lima" --email ana@acme.com --company Acme
    """
    common.set_demo(demo_db)


def _load(noun: str) -> Any:
    module_name, attr = COMMANDS[noun]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    return getattr(module, attr)


def _only(sub: typer.Typer, verb: str | None, bare: bool = False) -> typer.Typer:
    """`sub` with just the command `verb`, when it has one by that name: building a command's
    options costs time, and only one command runs. `bare`: no commands at all (for `crm` or
    `crm --help`, which name each noun and its help, not its commands)."""
    if bare:
        import copy

        empty = copy.copy(sub)
        empty.registered_commands = []
        empty.registered_groups = []
        return empty
    if verb is None:
        return sub
    keep = [
        c
        for c in sub.registered_commands
        if (c.name or (c.callback.__name__ if c.callback else "")) == verb
    ]
    if not keep:
        return sub
    import copy

    narrowed = copy.copy(sub)
    narrowed.registered_commands = keep
    return narrowed


def build_app(
    nouns: list[str] | None = None, verb: str | None = None, *, bare: bool = False
) -> typer.Typer:
    """The root app with the given nouns' commands (all of them when None; with `bare`, the
    nouns without their commands: half the time of `crm --help`)."""
    app = typer.Typer(
        name="crm",
        help=HELP,
        no_args_is_help=True,
        # --install-completion / --show-completion: on `crm` itself, not built for `crm NOUN`.
        add_completion=nouns is None,
        context_settings={"help_option_names": ["-h", "--help"]},
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )
    app.callback()(root)
    for noun in nouns if nouns is not None else list(COMMANDS):
        target = _load(noun)
        if target is None:
            continue
        if isinstance(target, typer.Typer):
            app.add_typer(_only(target, verb, bare), name=noun)
        else:
            app.command(noun)(target)
    return app


def build_command(
    nouns: list[str] | None = None, verb: str | None = None, *, bare: bool = False
) -> Any:
    """The click command tree for `build_app`, with examples kept on their own lines."""
    command = typer.main.get_command(build_app(nouns, verb, bare=bare))
    _keep_examples(command)
    return command


def _keep_examples(command: Any) -> None:
    # Click re-wraps help paragraphs; a paragraph marked with \b is printed as written, so an
    # example stays one line that can be copied.
    if command.help and "Example:" in command.help and "\b\nExample:" not in command.help:
        command.help = command.help.replace("Example:", "\b\nExample:")
    for sub in getattr(command, "commands", {}).values():
        _keep_examples(sub)


def _noun_verb(args: list[str]) -> tuple[str | None, str | None]:
    """The noun and verb a command line names, skipping the root options before them."""
    for i, arg in enumerate(args):
        if arg in ("--demo",):
            continue
        if arg not in COMMANDS:
            return None, None
        verb = args[i + 1] if i + 1 < len(args) else None
        return arg, verb if verb and not verb.startswith("-") else None
    return None, None


# Control characters no argument needs: C0 except tab and line breaks (a note may have them),
# DEL, C1. Lone surrogates are bytes that were not UTF-8 (Python's surrogateescape).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _check_arguments(args: list[str]) -> str | None:
    """The one-line error for the first argument that is not clean text, naming its option
    (`--name: not valid UTF-8 (byte 0xff at position 3)`); None when all are clean."""
    for i, arg in enumerate(args):
        options_end = "--" in args[:i]
        if not options_end and arg.startswith("--") and "=" in arg:  # --name=VALUE
            name, value = arg.split("=", 1)
            if _argument_problem(name) is None:
                problem = _argument_problem(value)
                if problem is not None:
                    return f"{name}: {problem}"
                continue
        problem = _argument_problem(arg)
        if problem is not None:
            return f"{_argument_name(args, i, options_end)}: {problem}"
    return None


def _argument_problem(arg: str) -> str | None:
    if _SURROGATE.search(arg):
        try:
            raw = arg.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as exc:  # a surrogate no byte became: only from a caller
            return f"not valid text (\\u{ord(arg[exc.start]):04x} at position {exc.start})"
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start})"
    bad = _CONTROL.search(arg)
    if bad is not None:
        shown = repr(bad.group())[1:-1]
        return f"contains a control character ({shown} at position {bad.start()})"
    return None


def _argument_name(args: list[str], i: int, options_end: bool) -> str:
    """The option an argument is the value of (`--name`), or `argument N` (counted from 1)."""
    previous = args[i - 1] if i > 0 else ""
    if (
        not options_end
        and not args[i].startswith("-")
        and previous.startswith("-")
        and previous not in ("-", "--")
        and "=" not in previous
        and _takes_value(args, previous)
    ):
        return previous
    return f"argument {i + 1}"


def _takes_value(args: list[str], option: str) -> bool:
    """Whether `option` reads the next argument as its value (not a flag such as --json).
    Builds the command's options: only on the way to an error."""
    noun, verb = _noun_verb(args)
    try:
        command = build_command([noun] if noun else None, verb)
    except Exception:  # noqa: BLE001 - only naming an option: assume it takes a value
        return True
    path = [command]
    for name in (noun, verb):
        sub = getattr(path[-1], "commands", {}).get(name) if name else None
        if sub is not None:
            path.append(sub)
    for cmd in path:
        for param in getattr(cmd, "params", []):
            if option in (*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())):
                return not (getattr(param, "is_flag", False) or getattr(param, "count", False))
    return True


def main(argv: list[str] | None = None) -> int:
    """Run `crm` and return its exit code. Tests call this; the console script exits with it."""
    args = sys.argv[1:] if argv is None else list(argv)
    refused = _check_arguments(args)
    if refused is not None:
        # Before anything runs: bytes that are not text, or an escape sequence, must not reach
        # the database (or, quoted in a message, the terminal).
        _error(refused)
        return int(ExitCode.USAGE)
    common.set_demo(False)
    common.set_command(args)
    noun, verb = _noun_verb(args)
    try:
        command = build_command([noun] if noun else None, verb, bare=noun is None)
        result = command.main(args=args, prog_name="crm", standalone_mode=False)
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
        return _reader_gone()
    except SystemExit as exc:
        # Typer turns a broken pipe into exit status 1 on the way out.
        if isinstance(exc.__context__, BrokenPipeError):
            return _reader_gone()
        raise
    except Exception as exc:
        from typer._click.exceptions import NoArgsIsHelpError

        if isinstance(exc, NoArgsIsHelpError):
            # `crm` or `crm contact` alone: the help is the answer.
            print(exc.format_message())
            return int(ExitCode.OK)
        usage = _usage_error(exc)
        if usage is not None:
            _error(usage)
            return int(ExitCode.USAGE)
        if os.environ.get("CRM_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _error(f"unexpected {type(exc).__name__}: {first} (set CRM_DEBUG=1 for details)")
        return int(ExitCode.FAILURE)
    finally:
        common.close_contexts()
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return int(ExitCode.OK)


def _reader_gone() -> int:
    """The reader went away (`crm deal list --json | head`): not an error of ours. What is
    left to flush goes nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return int(ExitCode.OK)


def run() -> None:
    """The console script: run, flush, and leave without the interpreter's teardown.

    With SQLAlchemy and pydantic loaded, tearing the interpreter down (module cleanup and a
    final garbage collection) takes ~70 ms: more than the work of `crm contact add` itself.
    By the time we get here every transaction is committed, every connection is closed
    (`main` disposes the engines) and the output is flushed, so there is nothing left for the
    teardown to do.

    Shell completion is answered before anything else, by `crm_cli.complete` (no Typer, no
    ORM); so is `crm --show-completion SHELL` / `--install-completion SHELL`.
    """
    # pydantic looks through every installed package for plugins when sqlmodel first loads it
    # (1-3% of a command); crm uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    code: int | None = None
    if "_CRM_COMPLETE" in os.environ or sys.argv[1:2] in (
        ["--show-completion"],
        ["--install-completion"],
    ):
        from crm_cli import complete

        instruction = os.environ.get(complete.COMPLETE_VAR)
        code = complete.answer(instruction) if instruction is not None else None
        if code is None:
            code = complete.script_option(sys.argv[1:])
    if code is None:
        code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    os._exit(code)


def _usage_error(exc: Exception) -> str | None:
    """The parser's own errors (unknown option, missing argument, bad value), as one line."""
    from typer._click import exceptions as click_exc

    if isinstance(exc, click_exc.UsageError):
        message = exc.format_message().strip().replace("\n", " ").rstrip(".")
        where = exc.ctx.command_path if exc.ctx is not None else "crm"
        return f"{message} (see `{where} --help`)"
    return None


def _error(message: str) -> None:
    print(f"crm: error: {message}", file=sys.stderr)
    sys.stderr.flush()


def __getattr__(name: str) -> Any:
    # `crm_cli.cli.app`: the whole command tree, for documentation and tests.
    if name == "app":
        return build_app()
    raise AttributeError(name)
