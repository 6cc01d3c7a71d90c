"""`crm search` finds deals by their title and, with `--all-fields`, interactions by their
notes: through the real command on SQLite and PostgreSQL, and through an index (the query
plan says so) rather than a scan."""

from __future__ import annotations

import csv
import importlib.util
import io
import random
import string
from typing import Any

import pytest
import sqlalchemy as sa
from rich.cells import cell_len

from crm_cli.domain.text import index_tokens
from crm_cli.errors import ExitCode
from crm_cli.render import output
from tests.conftest import Runner

RESULT_KEYS = {"kind", "id", "name", "detail", "score", "match", "record"}


def _found(crm: Runner, *args: str) -> list[tuple[str, int]]:
    return [(h["kind"], h["id"]) for h in crm.json("search", *args)]


@pytest.fixture
def deals(db_url: str, crm: Runner) -> dict[str, int]:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.de", "--company", "Acme GmbH")
    ids = {
        "renewal": crm.json(
            "deal", "add", "Acme renewal 2026", "--value", "12000", "--contact", "ana@acme.de"
        )["id"],
        "cjk": crm.json("deal", "add", "张伟公司续约", "--value", "5000", "--stage", "proposal")[
            "id"
        ],
        "other": crm.json("deal", "add", "Globex pilot", "--value", "800")["id"],
    }
    return ids


def test_a_deal_is_found_by_a_title_word_and_a_prefix(crm: Runner, deals: dict[str, int]) -> None:
    for query in ("renewal", "RENEW", "acme 2026", "renewal acme"):
        assert ("deal", deals["renewal"]) in _found(crm, query), query
    assert _found(crm, "pilot") == [("deal", deals["other"])]
    assert _found(crm, "enewal") == []  # a word's start, not its middle
    [hit] = crm.json("search", "Acme renewal 2026", "--kind", "deal")
    assert hit["match"] == "exact"
    assert hit["name"] == "Acme renewal 2026"
    assert hit["detail"] == "lead · 12,000.00 EUR"


def test_a_cjk_title_is_found_by_its_characters_and_pairs(
    crm: Runner, deals: dict[str, int]
) -> None:
    cjk = ("deal", deals["cjk"])
    for query in ("张伟", "公司", "伟公司", "续约", "续", "张伟公司续约"):
        assert _found(crm, query) == [cjk], query
    assert _found(crm, "张司") == []  # a pair must stand together in the title
    [hit] = crm.json("search", "公司")
    assert hit["detail"] == "proposal · 5,000.00 EUR"


def test_deals_rank_after_an_exact_contact_and_with_name_matches(
    crm: Runner, deals: dict[str, int]
) -> None:
    hits = crm.json("search", "acme")
    kinds = [h["kind"] for h in hits]
    # The deal's title holds the word; the contact has it only in her email and company.
    assert kinds.index("deal") < kinds.index("contact")
    assert {h["match"] for h in hits if h["kind"] == "deal"} == {"name"}


def test_a_removed_deal_is_not_found_until_restored(crm: Runner, deals: dict[str, int]) -> None:
    deal = str(deals["renewal"])
    crm.ok("deal", "rm", deal)
    assert ("deal", deals["renewal"]) not in _found(crm, "renewal")
    crm.ok("deal", "restore", deal)
    assert ("deal", deals["renewal"]) in _found(crm, "renewal")


def test_undo_of_a_title_edit_puts_the_old_words_back(crm: Runner, deals: dict[str, int]) -> None:
    deal = str(deals["renewal"])
    crm.ok("deal", "edit", deal, "--title", "Umbrella expansion")
    assert _found(crm, "umbrella") == [("deal", deals["renewal"])]
    assert _found(crm, "renewal") == []
    undone = crm.json("undo")
    assert _found(crm, "umbrella") == []
    assert _found(crm, "renewal") == [("deal", deals["renewal"])]
    crm.ok("undo", str(undone["change_set"]))  # the edit again
    assert _found(crm, "umbrella") == [("deal", deals["renewal"])]


def test_undo_of_an_add_takes_the_deal_out(crm: Runner, db_url: str) -> None:
    added = crm.json("deal", "add", "Initech audit")
    assert _found(crm, "initech") == [("deal", added["id"])]
    crm.ok("undo")
    assert _found(crm, "initech") == []


def test_notes_are_searched_only_with_all_fields(crm: Runner, deals: dict[str, int]) -> None:
    body = (
        "Long call. They asked for a discount on the enterprise tier and said the budget for "
        "next quarter is approved; legal reviews the contract terms this week."
    )
    logged = crm.json("log", "call", "ana@acme.de", "Pricing questions", "--body", body)
    note = ("interaction", logged["id"])
    assert _found(crm, "budget") == []
    assert _found(crm, "budget", "--all-fields") == [note]
    assert _found(crm, "pricing", "--all-fields") == [note]  # the summary is a note too
    assert _found(crm, "budget", "--kind", "interaction") == [note]  # asking for the log
    [hit] = crm.json("search", "contract", "--all-fields")
    assert hit["match"] == "note"
    assert hit["name"] == "Pricing questions"
    day, snippet = hit["detail"].split(" · ", 1)
    assert day == hit["record"]["occurred_at"][:10]
    assert snippet.startswith("…") and "contract terms" in snippet
    # A match in the summary only: the detail says who the call was with.
    [hit] = crm.json("search", "pricing", "--all-fields")
    assert hit["detail"].endswith(" · Ana Lima")
    # Deals and contacts come before notes.
    crm.ok("log", "call", "ana@acme.de", "Acme follow-up")
    kinds = [h["kind"] for h in crm.json("search", "acme", "--all-fields")]
    assert kinds[-1] == "interaction" and kinds.count("interaction") == 1
    crm.ok("log", "rm", str(logged["id"]))
    assert _found(crm, "budget", "--all-fields") == []


def test_json_shape(crm: Runner, deals: dict[str, int]) -> None:
    crm.ok("log", "note", "ana@acme.de", "Renewal terms agreed")
    hits = crm.json("search", "renewal", "--all-fields")
    assert [h["kind"] for h in hits] == ["deal", "interaction"]
    for hit in hits:
        assert set(hit) == RESULT_KEYS
        assert hit["id"] == hit["record"]["id"]
    deal, note = hits
    assert deal["record"]["title"] == "Acme renewal 2026"
    assert deal["record"]["value"] == 12000 and deal["record"]["currency"] == "EUR"
    assert note["record"]["summary"] == "Renewal terms agreed"
    assert note["record"]["kind"] == "note"


def test_kind_filter(crm: Runner, deals: dict[str, int]) -> None:
    assert {k for k, _ in _found(crm, "acme", "--kind", "deal")} == {"deal"}
    assert {k for k, _ in _found(crm, "acme", "--kind", "contact,deal")} == {"contact", "deal"}
    assert {k for k, _ in _found(crm, "acme", "-k", "company")} == {"company"}


def test_bad_input_is_refused(crm: Runner, deals: dict[str, int]) -> None:
    for args in (["!!"], ["  "], ["acme", "--kind", "ticket"], ["acme", "--columns", "nope"]):
        result = crm("search", *args)
        assert result.code == ExitCode.USAGE, result
        assert result.out == ""
        assert result.err.startswith("crm: error: ") and len(result.err.splitlines()) == 1


def test_nothing_found_prints_nothing_in_a_pipe(crm: Runner, deals: dict[str, int]) -> None:
    result = crm.ok("search", "nobody-here")
    assert result.out == ""
    assert crm.json("search", "nobody-here") == []


def test_csv_and_plain_forms(crm: Runner, deals: dict[str, int]) -> None:
    rows = list(csv.reader(io.StringIO(crm.ok("search", "renewal", "--csv").out)))
    assert rows == [
        ["kind", "id", "name", "detail"],
        ["deal", str(deals["renewal"]), "Acme renewal 2026", "lead · 12,000.00 EUR"],
    ]
    plain = crm.ok("search", "renewal", "--columns", "name,kind").out.splitlines()
    assert plain[0].split() == ["Name", "Kind"]
    assert plain[-1].split() == ["Acme", "renewal", "2026", "deal"]


def test_results_fit_80_columns(
    crm: Runner, deals: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.ok(
        "deal",
        "add",
        "Acme renewal of the enterprise licence for every office in Europe and Asia 2026",
        "--value",
        "1234567.89",
    )
    crm.ok("log", "call", "ana@acme.de", "Acme: " + "a very long summary " * 6, "--body", "x")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(output, "stdout_is_tty", lambda: True)
    result = crm.ok("search", "acme", "--all-fields")
    lines = result.out.splitlines()
    assert all(cell_len(line) <= 80 for line in lines), lines
    assert len(lines) == 2 + 5  # a header, a rule, one line per result
    for line in lines[2:]:
        assert line.split()[0] in ("contact", "company", "deal", "interaction")
    wide = crm.ok("search", "acme", "--all-fields", "--wide").out.splitlines()
    assert any(cell_len(line) > 80 for line in wide)
    assert "1,234,567.89 EUR" in "\n".join(wide)


# --- the index, not a scan ----------------------------------------------------------------


def _bulk(db_url: str, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows written in one statement (the triggers and the GIN index take them as any write)."""
    from crm_cli.store.engine import make_engine

    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.table(table, *map(sa.column, rows[0])).insert(), rows)
    if engine.dialect.name == "postgresql":
        # As autovacuum would soon: statistics, and the GIN index's pending list merged (a
        # long pending list makes the planner price the index above a scan of a small table).
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                f"VACUUM ANALYZE {table}"
            )
    engine.dispose()


def _words(rng: random.Random, n: int) -> str:
    return " ".join(
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
        for _ in range(n)
    )


STAMPS = {"created_at": "2026-01-01 00:00:00", "updated_at": "2026-01-01 00:00:00"}


def _many_deals(db_url: str, count: int) -> None:
    rng = random.Random(5)
    rows = []
    for i in range(count):
        title = f"{_words(rng, 2)} {i}" if i % 50 else f"Acme {_words(rng, 1)} {i}"
        rows.append(
            {
                "title": title,
                "search_name": index_tokens(title),
                "pipeline_id": 1,
                "stage_id": 1,
                "value_minor": i,
                "currency": "EUR",
                "status": "open",
                "stage_entered_at": "2026-01-01 00:00:00",
                **STAMPS,
            }
        )
    _bulk(db_url, "deal", rows)


def _many_notes(db_url: str, count: int) -> None:
    rng = random.Random(6)
    rows = []
    for _ in range(count):
        summary, body = _words(rng, 4), _words(rng, 30)
        rows.append(
            {
                "kind": "call",
                "occurred_at": "2026-01-01 00:00:00",
                "summary": summary,
                "body": body,
                "search_doc": index_tokens(summary, body),
                **STAMPS,
            }
        )
    _bulk(db_url, "interaction", rows)


def _statements(db_url: str, kind: str, query: str) -> tuple[Any, list[tuple[str, Any]]]:
    """The statements `crm search` runs for one kind, and the engine it ran them on."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from crm_cli.services.search import ranked_ids
    from crm_cli.store.engine import make_engine

    engine = make_engine(db_url)
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    with Session(engine) as session:
        assert ranked_ids(session, kind, query, 20)
    event.remove(engine, "before_cursor_execute", capture)
    searches = [(s, p) for s, p in seen if "search" in s or "_fts" in s]
    assert searches, seen
    return engine, searches


def test_deal_search_reads_the_index(db_url: str, crm: Runner) -> None:
    crm.ok("deal", "add", "Acme renewal", "--value", "1")
    _many_deals(db_url, 3000)
    engine, statements = _statements(db_url, "deal", "acme")
    try:
        with engine.connect() as conn:
            for statement, params in statements:
                if engine.dialect.name == "sqlite":
                    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
                    plan = " ".join(str(r[-1]) for r in rows)
                    assert "VIRTUAL TABLE INDEX" in plan, plan
                    assert "SCAN deal" not in plan.replace("deal_fts", ""), plan
                else:
                    with conn.begin():
                        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                        rows = conn.exec_driver_sql(f"EXPLAIN {statement}", params)
                        plan = "\n".join(str(r[0]) for r in rows)
                    assert "ix_deal_search" in plan, plan
    finally:
        engine.dispose()
    hits = crm.json("search", "acme", "--kind", "deal", "--limit", "100")
    assert len(hits) == 61 and hits[0]["name"] == "Acme renewal"


def test_note_search_reads_the_index(db_url: str, crm: Runner) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.de")
    crm.ok("log", "call", "ana@acme.de", "Budget talk", "--body", "budget approved")
    _many_notes(db_url, 3000)
    engine, statements = _statements(db_url, "interaction", "budget")
    try:
        with engine.connect() as conn:
            for statement, params in statements:
                if engine.dialect.name == "sqlite":
                    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
                    assert "VIRTUAL TABLE INDEX" in " ".join(str(r[-1]) for r in rows)
                else:
                    with conn.begin():
                        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                        rows = conn.exec_driver_sql(f"EXPLAIN {statement}", params)
                        assert "ix_interaction_search" in "\n".join(str(r[0]) for r in rows)
    finally:
        engine.dispose()


def test_the_migrations_fast_tokens_equal_the_tokenizer() -> None:
    """0004 fills the token columns with a fast path for ASCII text: it must make exactly the
    tokens the ORM makes afterwards, or a search would miss the rows it filled."""
    from crm_cli.store.migrate import MIGRATIONS_DIR

    path = MIGRATIONS_DIR / "versions" / "0004_search_deals.py"
    spec = importlib.util.spec_from_file_location("m0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = random.Random(3)
    samples: list[tuple[str | None, ...]] = [("José 张伟 Müller",), ("", None), ("a_b c-d", "E.F")]
    for _ in range(5000):
        text = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 30)))
        samples.append((text, rng.choice([None, "", text[::-1]])))
    for texts in samples:
        assert module._tokens(*texts) == index_tokens(*texts), texts
