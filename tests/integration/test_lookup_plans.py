"""A record named by name is found, refused as ambiguous or answered with a suggestion
through the search index, never by reading the whole table: `crm deal show zzzz` at a million
deals read every title twice (2.4 s). Same data and plan checks as test_query_plans."""

from __future__ import annotations

import re
from typing import Any

from crm_cli.errors import ExitCode
from tests.conftest import Runner
from tests.integration.test_query_plans import _plans, _seed, statements

__all__ = ["statements"]  # the fixture, used by name

# Any scan of a big table, even of one of its indexes in full (`SCAN deal USING COVERING
# INDEX`): a lookup reads the search index (`SCAN deal_fts VIRTUAL TABLE`) and rows by id.
_SQLITE_SCAN = re.compile(r"\bSCAN (deal|contact|company)\b")
# Where no record is found, not even an index of the table read at length (the open deals'
# `ix_deal_status (status=?)`, a fifth of them): the table is read by id only.
_SQLITE_READ = re.compile(r"\b(?:SCAN|SEARCH) (deal|contact|company)\b(?![^\n]*rowid=)")
_PG_SCAN = re.compile(r"Seq Scan on (deal|contact|company)\b")

# (command, exit code, what stderr or the shown record says)
LOOKUPS: list[tuple[list[str], int, str]] = [
    (["deal", "show", "zzzz"], ExitCode.NOT_FOUND, "no deal 'zzzz'"),
    (["deal", "show", "Zephir"], ExitCode.NOT_FOUND, "did you mean 'Zephyr rollout'"),
    (["deal", "show", "zephyr"], ExitCode.OK, "Zephyr rollout"),
    (["deal", "show", "Zephyr rollout"], ExitCode.OK, "Zephyr rollout"),
    (["deal", "show", "deal"], ExitCode.USAGE, "matches several"),
    (["contact", "show", "zzzz"], ExitCode.NOT_FOUND, "no contact 'zzzz'"),
    # Among 5,000 people named "Person N", the closest, not the closest of the first 2,000.
    (["contact", "show", "Persn 4321"], ExitCode.NOT_FOUND, "did you mean 'Person 4321'"),
    (["contact", "show", "person 4321"], ExitCode.OK, "Person 4321"),
    (["contact", "show", "jose"], ExitCode.OK, "José Pérez"),
    (["company", "show", "zzzz"], ExitCode.NOT_FOUND, "no company 'zzzz'"),
    (["company", "show", "Compnay 17"], ExitCode.NOT_FOUND, "did you mean 'Company 17'"),
    (["company", "show", "company 17"], ExitCode.OK, "Company 17"),
]


def test_names_are_looked_up_through_the_search_index(
    db_url: str, crm: Runner, statements: list[tuple[str, Any]]
) -> None:
    crm.ok("pipeline", "list")
    _seed()
    crm.ok("deal", "add", "Zephyr rollout")
    crm.ok("contact", "add", "José Pérez")
    failures = []
    for args, code, said in LOOKUPS:
        statements.clear()
        result = crm(*args)
        shown = result.out + result.err
        if result.code != code or said not in shown:
            failures.append(f"crm {' '.join(args)}: exit {result.code}, {shown!r}")
        plans = "\n---\n".join(_plans(db_url, list(statements)))
        scan = _PG_SCAN
        if db_url.startswith("sqlite"):
            scan = _SQLITE_SCAN if code == ExitCode.OK else _SQLITE_READ
        found = sorted({m.group(1) for m in scan.finditer(plans)})
        if found:
            failures.append(f"crm {' '.join(args)}: reads all of {', '.join(found)}:\n{plans}")
    assert not failures, "\n\n".join(failures)
