"""Shell completion through the real entry point, on SQLite and PostgreSQL.

Each test seeds data with the real commands, then runs the `crm` console script the way the
shell's script does (`_CRM_COMPLETE=complete_bash` with COMP_WORDS / COMP_CWORD, or
`complete_zsh` / `complete_fish` with _TYPER_COMPLETE_ARGS) and reads the candidates from
what it prints. Bash itself runs the script `crm --show-completion bash` prints where bash is
installed. Other tests keep the fast path honest: every query of crm_cli.complete runs against
a freshly migrated schema, SQLite's plans use the indexes, the command tree is current, and no
ORM, Typer or Rich is loaded to answer.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crm_cli import complete

CONSOLE_SCRIPT = Path(sys.executable).with_name("crm")
CRM = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "crm_cli"]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CRM, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


def bash(line: str) -> list[str]:
    """What `crm` answers bash for `line` (the cursor at its end), as COMPREPLY would hold it.
    Words are split at blanks and, as bash does, around @ and =."""
    words: list[str] = []
    for word in line.split(" "):
        pieces = word.replace("@", " @ ").replace("=", " = ").split()
        words += pieces or [""]
    result = _run(
        {
            "_CRM_COMPLETE": "complete_bash",
            "COMP_WORDS": "\n".join(words),
            "COMP_CWORD": str(len(words) - 1),
        }
    )
    assert result.returncode == 0, result
    assert result.stderr == ""
    return result.stdout.splitlines()


def zsh(line: str) -> list[tuple[str, str]]:
    """The (value, description) pairs `crm` answers zsh for `line`; [] for `_files`."""
    result = _run({"_CRM_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line})
    assert result.returncode == 0, result
    assert result.stderr == ""
    out = result.stdout.rstrip("\n")
    if out == "_files":
        return []
    assert out.startswith("_arguments '*: :((") and out.endswith("))'"), out
    pairs = []
    for item in out.removeprefix("_arguments '*: :((").removesuffix("))'").split("\n"):
        value, _, described = item.partition('":"')
        pairs.append((_zsh_unescape(value.strip('"')), _zsh_unescape(described.rstrip('"'))))
    return pairs


def _zsh_unescape(text: str) -> str:
    return (
        text.replace(r"\\:", ":")
        .replace("\\`", "`")
        .replace("\\$", "$")
        .replace("''", "'")
        .replace('""', '"')
    )


def fish(line: str) -> list[tuple[str, str]]:
    env = {"_CRM_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": line}
    result = _run({**env, "_TYPER_COMPLETE_FISH_ACTION": "get-args"})
    assert result.returncode == 0, result
    pairs = []
    for row in result.stdout.splitlines():
        value, _, described = row.partition("\t")
        pairs.append((value, described))
    # fish first asks whether there is anything to offer (exit 0) or files instead (exit 1).
    asked = _run({**env, "_TYPER_COMPLETE_FISH_ACTION": "is-args"})
    assert asked.returncode == (0 if pairs else 1)
    return pairs


def values(pairs: list[tuple[str, str]]) -> list[str]:
    return [value for value, _ in pairs]


@pytest.fixture
def seeded(crm: Any, db_url: str) -> str:
    """Contacts, companies, deals, tags, a second pipeline and a second user."""
    crm.ok(
        "contact", "add", "Ana Lima", "--email", "ana@acme.com", "--company", "Acme", "--tag", "vip"
    )
    crm.ok("contact", "add", "Anabel Souza", "--email", "anabel@globex.com", "--tag", "cold")
    crm.ok("contact", "add", "Bruno Weber", "--email", "bruno@acme.com", "--tag", "vienna")
    gone = crm.json("contact", "add", "Anton Gone", "--email", "anton@gone.com")
    crm.ok("contact", "rm", str(gone["id"]))
    crm.ok("company", "add", "Globex", "--domain", "globex.com")
    deal = crm.json("deal", "add", "Acme renewal", "--contact", "ana@acme.com")
    crm.ok("deal", "add", "Globex pilot", "--company", "Globex")
    removed = crm.json("deal", "add", "Dropped deal")
    crm.ok("deal", "rm", str(removed["id"]))
    crm.ok("pipeline", "add", "Partners", "--stages", "intro,signed")
    crm.ok("user", "add", "Carla Boss", "--email", "carla@example.com")
    assert deal["id"] == 1
    return db_url


# --- the command tree -------------------------------------------------------------------


def test_commands_subcommands_and_options() -> None:
    assert bash("crm co") == ["company", "config", "contact"]
    assert "show" in bash("crm contact ")
    assert bash("crm contact add --em") == ["--email"]
    assert "--install-completion" in bash("crm --")
    described = dict(zsh("crm deal "))
    assert described["move"].startswith("Move")
    assert ("--json", "Write JSON to stdout.") in fish("crm deal show 1 --j")


def test_an_option_given_once_is_not_offered_again_but_a_repeatable_one_is() -> None:
    offered = bash("crm contact add Ana --company Acme --email a@b.c --")
    assert "--company" not in offered
    assert "--email" in offered


def test_fixed_values_and_config_keys() -> None:
    assert bash("crm contact list --lifecycle ") == ["churned", "customer", "lead", "prospect"]
    assert bash("crm deal list --status=w") == ["won"]
    assert values(zsh("crm deal list --status=w")) == ["--status=won"]
    keys = dict(zsh("crm config get defaults.d"))
    assert set(keys) == {"defaults.date_order", "defaults.decimal_comma", "defaults.due_time"}
    assert "1/12/2026" in keys["defaults.date_order"]


def test_free_text_gets_nothing_and_zsh_falls_back_to_files() -> None:
    assert bash("crm contact add ") == []
    assert zsh("crm db backup ") == []
    assert fish("crm contact add ") == []


# --- data --------------------------------------------------------------------------------


def test_contacts_by_name_and_email_without_case(seeded: str) -> None:
    # bash inserts the word as it is: a blank in a name comes escaped.
    assert bash("crm contact show an") == [
        "Ana\\ Lima",
        "ana@acme.com",
        "Anabel\\ Souza",
        "anabel@globex.com",
    ]
    assert bash("crm contact show AN") == bash("crm contact show an")
    pairs = dict(zsh("crm contact show ana"))
    assert pairs == {
        "ana@acme.com": "Ana Lima",
        "Ana Lima": "ana@acme.com",
        "anabel@globex.com": "Anabel Souza",
        "Anabel Souza": "anabel@globex.com",
    }
    assert dict(fish("crm contact show 'Ana L")) == {"Ana Lima": "ana@acme.com"}
    # Nothing typed yet: every live contact (up to the limit), by name and email.
    assert len(zsh("crm contact show ")) == 6


def test_an_email_split_by_bash_at_the_at_sign(seeded: str) -> None:
    # bash splits "ana@ac" into ana, @, ac; readline replaces "@ac" (it keeps an @ with the
    # word after it): the answer starts there.
    assert bash("crm contact show ana@ac") == ["@acme.com"]
    assert bash("crm deal add X --contact bruno@") == ["@acme.com"]


def test_removed_contacts_only_where_they_are_restored(seeded: str) -> None:
    assert bash("crm contact show ant") == []
    assert bash("crm contact restore ant") == ["Anton\\ Gone", "anton@gone.com"]


def test_companies_deals_and_ids(seeded: str) -> None:
    assert bash("crm contact add X --company g") == ["Globex"]
    assert dict(zsh("crm company show A")) == {"Acme": ""}
    # Deals: ids, with their titles as descriptions; the removed one only for restore.
    assert dict(zsh("crm deal show ")) == {"1": "Acme renewal", "2": "Globex pilot"}
    assert bash("crm deal won 2") == ["2"]
    assert dict(fish("crm deal restore ")) == {"3": "Dropped deal"}
    assert dict(zsh("crm followup add Call --deal 1")) == {"1": "Acme renewal"}
    assert dict(zsh("crm contact show 1")) == {"1": "Ana Lima"}


def test_stages_pipelines_tags_and_owners(seeded: str) -> None:
    assert bash("crm deal add X --stage q") == ["qualified"]
    # With --pipeline on the line, that pipeline's stages.
    assert bash("crm deal add X --pipeline Partners --stage ") == ["intro", "lost", "signed", "won"]
    assert bash("crm deal list --pipeline ") == ["default", "Partners"]
    # deal move IDS... STAGE: ids and stages both fit after an id.
    assert set(bash("crm deal move 1 ")) >= {"2", "proposal", "won", "intro"}
    assert bash("crm contact list --tag v") == ["vienna", "vip"]
    assert bash("crm contact tag 1 +v") == ["+vienna", "+vip"]
    assert "-cold" in bash("crm contact tag ana@acme.com -")
    assert "Ana\\ Lima" in bash("crm contact tag 2 An")
    assert dict(zsh("crm deal list --owner c")) == {
        "Carla Boss": "carla@example.com",
        "carla@example.com": "Carla Boss",
    }


def test_history_completes_the_records_of_the_kind_named(seeded: str) -> None:
    assert "deal" in bash("crm history d")
    assert dict(zsh("crm history deal ")) == {"1": "Acme renewal", "2": "Globex pilot"}
    assert bash("crm history contact br") == ["Bruno\\ Weber", "bruno@acme.com"]


def test_no_database_means_no_candidates_and_no_database_made(crm_home: Path) -> None:
    assert bash("crm contact show an") == []
    assert zsh("crm deal show ") == []
    assert not (crm_home / "crm.db").exists()


def test_a_database_it_cannot_read_gives_no_candidates(
    crm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = crm_home / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT)")
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{path}")
    assert bash("crm contact show an") == []
    result = _run(
        {
            "_CRM_COMPLETE": "complete_bash",
            "COMP_WORDS": "crm\ndeal\nshow\n",
            "COMP_CWORD": "3",
            "CRM_DEBUG": "1",
        }
    )
    assert result.stdout == "" and "no such" in result.stderr


def test_demo_reads_the_demo_database(crm: Any, crm_home: Path) -> None:
    crm.ok("demo")
    assert bash("crm --demo contact show ") != []
    assert bash("crm contact show ") == []


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="no crm console script beside Python")
def test_bash_itself_with_the_script_crm_prints(seeded: str, tmp_path: Path) -> None:
    shown = _run({}, "--show-completion", "bash")
    assert shown.returncode == 0, shown
    script = tmp_path / "crm.bash"
    script.write_text(shown.stdout)
    # COMP_WORDS as bash splits them (at blanks, and around @ and =).
    probe = f"""
source {script}
COMP_WORDS=(crm contact show ana @ ac); COMP_CWORD=5; _crm_completion crm
printf '%s\\n' "${{COMPREPLY[@]}}"
COMP_WORDS=(crm deal list --stage = ne); COMP_CWORD=5; _crm_completion crm
printf '%s\\n' "${{COMPREPLY[@]}}"
COMP_WORDS=(crm contact show An); COMP_CWORD=3; _crm_completion crm
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    path = f"{CONSOLE_SCRIPT.parent}{os.pathsep}{os.environ['PATH']}"
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", probe],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out
    assert out.stdout.splitlines() == [
        "@acme.com",
        "negotiation",
        "Ana\\ Lima",
        "ana@acme.com",
        "Anabel\\ Souza",
        "anabel@globex.com",
    ]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="no crm console script beside Python")
def test_fish_itself_with_the_script_crm_prints(seeded: str, tmp_path: Path) -> None:
    probe = (
        "crm --show-completion fish | source\n"
        "complete -C 'crm contact show an'\n"
        "complete -C 'crm deal list --stage=neg'\n"
    )
    path = f"{CONSOLE_SCRIPT.parent}{os.pathsep}{os.environ['PATH']}"
    out = subprocess.run(
        ["fish", "--no-config", "-c", probe],
        env={**os.environ, "PATH": path, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out
    assert set(out.stdout.splitlines()) == {
        "Ana Lima\tana@acme.com",
        "ana@acme.com\tAna Lima",
        "Anabel Souza\tanabel@globex.com",
        "anabel@globex.com\tAnabel Souza",
        "--stage=negotiation\tdefault",
    }


# --- the scripts ---------------------------------------------------------------------------


@pytest.mark.parametrize("shell", complete.SHELLS)
def test_show_completion_prints_typers_script(shell: str) -> None:
    from typer._completion_shared import get_completion_script

    typers = get_completion_script(prog_name="crm", complete_var="_CRM_COMPLETE", shell=shell)
    assert complete.script(shell) == typers
    shown = _run({}, "--show-completion", shell)
    assert shown.returncode == 0 and shown.stdout == typers + "\n"
    sourced = _run({"_CRM_COMPLETE": f"source_{shell}"})
    assert sourced.stdout == typers + "\n"


def test_show_completion_refuses_an_unknown_shell() -> None:
    result = _run({}, "--show-completion", "tcsh")
    assert result.returncode == 2
    assert result.stdout == "" and "bash, zsh or fish" in result.stderr


@pytest.mark.parametrize(
    ("shell", "written"),
    [
        ("bash", ".bash_completions/crm.sh"),
        ("zsh", ".zfunc/_crm"),
        ("fish", ".config/fish/completions/crm.fish"),
    ],
)
def test_install_completion_writes_into_home(shell: str, written: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = _run({"HOME": str(home)}, "--install-completion", shell)
    assert result.returncode == 0, result
    assert str(home / written) in result.stdout
    assert (home / written).read_text().strip() == complete.script(shell)
    if shell == "bash":
        assert f"source '{home / written}'" in (home / ".bashrc").read_text()


# --- keeping the fast path honest -------------------------------------------------------


def test_the_command_tree_is_current() -> None:
    from crm_cli import complete_tree
    from crm_cli.cli import reference

    stale = (
        "crm_cli/complete_tree.py is stale: run `python -m crm_cli.cli.reference "
        "--completion-tree > crm_cli/complete_tree.py`"
    )
    assert complete_tree.TREE == reference.completion_tree(), stale
    assert complete_tree.VALUES == reference.completion_values(), stale


def test_every_source_names_a_parameter_that_exists() -> None:
    from crm_cli.complete_tree import TREE, VALUES

    params = {
        (path, param)
        for path, node in TREE.items()
        for param in [o[4] for o in node["options"]] + [a[0] for a in node.get("arguments", ())]
    }
    for (path, param), source in SOURCES_ITEMS:
        if path == "*":
            assert any(p == param for _, p in params), param
        elif path.endswith(" *"):
            noun = path.removesuffix(" *")
            assert any(p == param and c.startswith(noun + " ") for c, p in params), (path, param)
        else:
            assert (path, param) in params, (path, param)
        assert source is None or source in VALUES or source in DATA_SOURCES, source


SOURCES_ITEMS = list(complete.SOURCES.items())
DATA_SOURCES = {
    "contact",
    "removed_contact",
    "company",
    "removed_company",
    "deal",
    "removed_deal",
    "followup",
    "interaction",
    "feedback",
    "tag",
    "user",
    "pipeline",
    "stage",
    "contact_or_tag",
    "record",
}
# Parameters that name an existing record: each must complete from somewhere.
RECORD_PARAMS = {
    "contact",
    "company",
    "deal",
    "owner",
    "stage",
    "pipeline",
    "tag",
    "untag",
    "ref",
    "refs",
    "deal_id",
    "deal_ids",
    "key",
}
NEW_NAMES = {("pipeline add-stage", "stage")}


def test_every_parameter_that_names_a_record_completes() -> None:
    from crm_cli.complete_tree import TREE

    missing = []
    for path, node in TREE.items():
        names = [o[4] for o in node["options"]] + [a[0] for a in node.get("arguments", ())]
        for param in names:
            if param in RECORD_PARAMS and (path, param) not in NEW_NAMES:
                if complete.source_for(path, param) is None:
                    missing.append(f"{path} {param}")
    assert missing == []


# Parameters for each statement of complete.SQL: every one must be here, so a new query
# cannot go untested.
PARAMS: dict[str, tuple[Any, ...]] = {
    "contact_name_probe": ("A", "B"),
    "contact_name": ("A", "B", "a%", 50),
    "contact_email_probe": ("a", "b"),
    "contact_email": ("a", "b", "a%", 50),
    "company_name_probe": ("A", "B"),
    "company_name": ("A", "B", "a%", 50),
    "tag_name": ("a", "b", 50),
    "contact_id": (1, 9, 50),
    "company_id": (1, 9, 50),
    "deal_id": (1, 9, 50),
    "followup_id": (1, 9, 50),
    "interaction_id": (1, 9, 50),
    "feedback_id": (1, 9, 50),
    "deal_recent": (50,),
    "user": (),
    "pipeline": (),
    "stage": (),
    "pg_code_point_order": (),
}


def test_every_query_runs_against_the_migrated_schema(seeded: str) -> None:
    assert set(PARAMS) == set(complete.SQL)
    db = complete.connect(seeded)
    assert db is not None
    collations = [db.collate, ' COLLATE "C"'] if db.postgres else [""]
    try:
        for collate in collations:
            db.collate = collate
            for name, removed in complete.iter_statements():
                if name == "pg_code_point_order" and not db.postgres:
                    continue
                db.rows(name, *PARAMS[name], removed=removed)
        db.collate = collations[0]
        assert [r[0] for r in db.rows("contact_name", "A", "B", "a%", 50)] == [
            "Ana Lima",
            "Anabel Souza",
        ]
    finally:
        db.close()


def test_completion_only_reads(seeded: str) -> None:
    db = complete.connect(seeded)
    assert db is not None
    try:
        with pytest.raises(Exception, match="(?i)read.?only"):
            db.conn.execute("DELETE FROM tag")
    finally:
        db.close()


# Tables that grow with the user's data: their queries must read an index range.
BIG = (
    "contact_name",
    "contact_email",
    "company_name",
    "tag_name",
    "deal_id",
    "deal_recent",
    "contact_id",
    "followup_id",
    "interaction_id",
    "feedback_id",
    "company_id",
)


def test_sqlite_reads_index_ranges_not_tables(crm: Any, sqlite_url: str) -> None:
    crm.ok("db", "migrate")
    db = complete.connect(sqlite_url)
    assert db is not None
    try:
        for name in BIG + tuple(n for n in complete.SQL if n.endswith("_probe")):
            plan = " | ".join(
                row[3]
                for row in db.conn.execute(f"EXPLAIN QUERY PLAN {db.statement(name)}", PARAMS[name])
            )
            assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), (name, plan)
            assert "USING" in plan, (name, plan)
    finally:
        db.close()


def test_answering_loads_no_orm_typer_or_rich(crm: Any, sqlite_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    script = (
        "import json, sys\n"
        "from crm_cli.complete import answer\n"
        "code = answer('complete_bash')\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "COMP_WORDS": "crm\ncontact\nshow\nan", "COMP_CWORD": "3"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result
    assert result.stdout.splitlines() == ["Ana\\ Lima", "ana@acme.com"]  # it did complete
    report = json.loads(result.stderr.splitlines()[-1])
    assert report["code"] == 0
    # crm_cli.config and typing are light, but not light enough to pay for on every TAB.
    heavy = (
        "sqlalchemy",
        "sqlmodel",
        "typer",
        "rich",
        "alembic",
        "pydantic",
        "psycopg",
        "crm_cli.cli",
        "crm_cli.store",
        "crm_cli.services",
        "crm_cli.config",
        "typing",
    )
    loaded = [
        m for m in report["modules"] if m in heavy or m.startswith(tuple(f"{h}." for h in heavy))
    ]
    assert loaded == []
