"""No page describes a command that does not exist.

Every `crm NOUN [VERB] [--option ...]` in a code span or a code block of README.md and
docs/*.md is looked up in the live command tree (`crm_cli.cli.build_command()`, the tree
`crm --help` prints): the noun must be a command, the verb one of the noun's commands when
the noun is a group, and each `--option` one the command takes. A command that is only
planned may be named on a line that says "planned", and only if it is in `PLANNED`.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crm_cli.cli import build_command

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Commands the design promises but crm does not have yet. A page may name one only on a line
# that says "planned" (e.g. "(planned: `crm remind` will report each once)").
PLANNED = {"tui", "remind", "today", "report", "import", "export"}

# `crm` as a command word: at the start, after a space, a path (`.venv/bin/crm`) or a shell
# operator; never `crm_cli`, `crm.db` or `crm-backup.db`.
_INVOCATION = re.compile(r"(?:^|(?<=[\s`(|;&/=]))crm(?=\s+\S)")
_FENCE = re.compile(r"^(```|~~~)")
_SPAN = re.compile(r"(`+)(.+?)\1")
# Where an invocation ends: a pipe, a list of commands, a redirection, a comment.
_END = re.compile(r"\s(?:\||&&|\|\||;|>|2>|<|#)(?:\s|$)|\)\s*$")


@dataclass(frozen=True)
class Invocation:
    page: str
    line_no: int
    line: str
    text: str  # from `crm` to where the command ends

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line_no}: {self.text}"


def invocations(path: Path) -> list[Invocation]:
    """The `crm ...` command lines in `path`'s code blocks and code spans (a span may run on
    over a line break, as Markdown allows)."""
    found: list[Invocation] = []
    paragraph: list[tuple[int, str]] = []

    def scan(piece: str, no: int, line: str) -> None:
        for match in _INVOCATION.finditer(piece):
            rest = piece[match.start() :].split("`", 1)[0]  # a span inside a block
            end = _END.search(rest)
            text = (rest[: end.start()] if end else rest).strip()
            found.append(Invocation(path.name, no, line, text))

    def flush() -> None:
        joined = " ".join(text for _, text in paragraph)
        starts = [0]
        for _, text in paragraph:
            starts.append(starts[-1] + len(text) + 1)
        for span in _SPAN.finditer(joined):
            first = max(i for i, at in enumerate(starts[:-1]) if at <= span.start())
            last = max(i for i, at in enumerate(starts[:-1]) if at < span.end())
            lines = " ".join(text for _, text in paragraph[first : last + 1])
            scan(span.group(2), paragraph[first][0], lines)
        paragraph.clear()

    in_block = False
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if _FENCE.match(line.strip()):
            flush()
            in_block = not in_block
        elif in_block:
            scan(line, no, line)
        elif line.strip():
            paragraph.append((no, line))
        else:
            flush()
    flush()
    return found


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote in prose: good enough for names
        return text.split()


def _options(command: Any) -> set[str]:
    names: set[str] = set()
    for param in getattr(command, "params", []):
        names.update(getattr(param, "opts", ()))
        names.update(getattr(param, "secondary_opts", ()))
    return names | {"--help", "-h"}


def problems(inv: Invocation, root: Any) -> list[str]:
    """What in `inv` the command tree does not have (empty when it is all there)."""
    words = _words(inv.text)[1:]  # after `crm`
    allowed = _options(root)
    path: list[Any] = [root]
    while words and words[0].startswith("-"):  # root options: --demo, --help, --version
        if words[0].split("=")[0] not in allowed:
            return [f"no option {words[0]} on crm"]
        words.pop(0)
    if not words:
        return []
    noun = words.pop(0)
    if _placeholder(noun):
        return []  # `crm COMMAND [ARGS]`, `crm [OPTIONS]`
    command = root.commands.get(noun)
    if command is None:
        if noun in PLANNED and "planned" in inv.line.lower():
            return []
        return [f"no command `crm {noun}`"]
    path.append(command)
    subcommands = getattr(command, "commands", None)
    if subcommands is not None and words and not words[0].startswith("-"):
        verb = words.pop(0)
        if _placeholder(verb):
            return []  # `crm contact VERB ...`
        sub = subcommands.get(verb)
        if sub is None:
            return [f"no command `crm {noun} {verb}`"]
        path.append(sub)
    known = _options(path[-1])
    bad = []
    for word in words:
        # Long options only: a short `-x` is as often a value (`--sort -value`, a tag `-cold`).
        if re.fullmatch(r"--[A-Za-z][\w-]*(=.*)?", word):
            name = word.split("=")[0]
            if name not in known:
                bad.append(f"no option {name} on `crm {' '.join(_names(path))}`")
    return bad


def _placeholder(word: str) -> bool:
    return word.isupper() or word.startswith(("[", "<", "{")) or word == "..."


def _names(path: list[Any]) -> list[str]:
    return [c.name for c in path[1:]]


@pytest.fixture(scope="module")
def root() -> Any:
    return build_command()


def test_the_scan_finds_invocations() -> None:
    # The check below can only fail if the scan sees the commands the pages show.
    readme = {inv.text.split(" #")[0] for inv in invocations(ROOT / "README.md")}
    assert any(text.startswith("crm deal won") for text in readme)
    assert sum(len(invocations(page)) for page in PAGES) > 100


def test_the_check_can_fail(root: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every planned command exists by now: the rule is checked on one made up for the test.
    monkeypatch.setattr(sys.modules[__name__], "PLANNED", PLANNED | {"kanban"})

    def check(text: str, line: str | None = None) -> list[str]:
        return problems(Invocation("x.md", 1, line or text, text), root)

    assert check("crm kanban --json") == ["no command `crm kanban`"]
    assert check("crm kanban --json", "(planned: `crm kanban --json` for the board)") == []
    assert check("crm frobnicate", "(planned: `crm frobnicate`)") == ["no command `crm frobnicate`"]
    assert check("crm deal explode 1") == ["no command `crm deal explode`"]
    assert check("crm deal list --no-such-option") == [
        "no option --no-such-option on `crm deal list`"
    ]
    assert check("crm --demo deal list --stage proposal --json") == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_a_page_names_exists(page: Path, root: Any) -> None:
    wrong = [
        f"{inv.where}  <- {problem}" for inv in invocations(page) for problem in problems(inv, root)
    ]
    assert wrong == []
