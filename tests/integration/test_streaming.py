"""Listings stream: `--json`, `--csv`, `--ids` and a pipe write every matching record as it is
read, so memory does not grow with the number of rows (a million deals once took 4.4 GiB). Run
as a real `crm` process writing to a pipe; its peak memory is read from the kernel."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from crm_cli.services.context import open_context
from crm_cli.store.sales import Deal
from tests.conftest import Runner


def _add_deals(count: int, start: int = 0) -> None:
    ctx = open_context()
    try:
        now = datetime.now(UTC)
        with ctx.session(journal=False) as session:
            for first in range(start, start + count, 10_000):
                session.execute(
                    insert(Deal),
                    [
                        {
                            "title": f"Deal {i} " + "x" * 40,
                            "pipeline_id": 1,
                            "stage_id": 1 + i % 4,
                            "value_minor": 100 * i,
                            "expected_close": date(2027, 1, 1) + timedelta(days=i % 300),
                            "created_at": now,
                            "updated_at": now,
                            "stage_entered_at": now,
                        }
                        for i in range(first, min(first + 10_000, start + count))
                    ],
                )
    finally:
        ctx.close()


def _run_to_pipe(*args: str) -> tuple[list[bytes], float]:
    """Run `crm ARGS` with stdout on a pipe that is read line by line and let go; returns the
    lines that start a JSON object or a CSV/plain row and the process's peak memory in MiB."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "crm_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    lines = [line[:20] for line in proc.stdout]
    _pid, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return lines, usage.ru_maxrss / 1024


@pytest.mark.parametrize("form", ["--json", "--csv", "--ids", "plain"])
def test_memory_does_not_grow_with_rows(db_url: str, crm: Runner, form: str) -> None:
    crm.ok("pipeline", "list")
    _add_deals(1_000)
    args = ["deal", "list", "--status", "all"] + ([] if form == "plain" else [form])
    small_lines, small_peak = _run_to_pipe(*args)
    _add_deals(19_000, start=1_000)
    large_lines, large_peak = _run_to_pipe(*args)
    header = 0 if form == "--ids" else 1  # the CSV and plain header, or the JSON "["
    assert len(small_lines) - header - (form == "--json") == 1_000
    assert len(large_lines) - header - (form == "--json") == 20_000
    # Held in memory, 19,000 more records would take 65-150 MiB (about 3.5-8 KiB each). The
    # peak of the same streamed listing has been seen to differ by up to 20 MiB between runs
    # on a loaded machine, so the bound leaves room for that and still catches rows held.
    assert large_peak - small_peak < 30, (small_peak, large_peak)


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_a_reader_leaving_a_long_json_listing_leaves_no_process_behind(
    db_url: str, crm: Runner
) -> None:
    """`crm deal list --json | head`: the copy that writes a long listing's JSON on the other
    core (services.fanout) ends with the listing, reaped, and crm exits 0."""
    crm.ok("pipeline", "list")
    _add_deals(12_000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "crm_cli", "deal", "list", "--status", "all", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    for _ in range(7_000):  # past the chunks written before the copy is made
        proc.stdout.readline()
    copies = _children(proc.pid)
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert proc.stderr is not None and proc.stderr.read() == b""
    assert len(copies) == 1
    assert not any(os.path.exists(f"/proc/{pid}") for pid in copies)


def test_json_in_a_pipe_is_one_record_per_line(db_url: str, crm: Runner) -> None:
    crm.ok("pipeline", "list")
    _add_deals(2_500)
    out = crm.ok("deal", "list", "--status", "all", "--json").out
    lines = out.splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    records = [json.loads(line.rstrip(",")) for line in lines[1:-1]]
    assert len(records) == 2_500
    assert records == json.loads(out)
    # Board order, then by close date, across every stage and chunk.
    keys = [(r["stage"], r["expected_close"], r["id"]) for r in records]
    stages = ["lead", "qualified", "proposal", "negotiation"]
    assert keys == sorted(keys, key=lambda k: (stages.index(k[0]), k[1], k[2]))


def test_empty_listing_in_json_is_an_empty_array(db_url: str, crm: Runner) -> None:
    assert crm.ok("deal", "list", "--json").out == "[]\n"
    assert crm.ok("contact", "list", "--json").json == []
    result = crm.ok("contact", "list")
    assert result.out == ""


def test_plain_text_stays_aligned_across_blocks(db_url: str, crm: Runner) -> None:
    crm.ok("pipeline", "list")
    _add_deals(2_400)
    lines = crm.ok("deal", "list", "--status", "all").out.splitlines()
    assert len(lines) == 2_401
    # The title column starts at the same place on every line: widths only grow, and these
    # titles are as wide in every block.
    starts = {line.index("Deal ") for line in lines[1:]}
    assert len(starts) == 1


def test_csv_streams_every_row_with_the_header_once(db_url: str, crm: Runner) -> None:
    crm.ok("pipeline", "list")
    _add_deals(2_200)
    rows = list(csv.DictReader(io.StringIO(crm.ok("deal", "list", "--status", "all", "--csv").out)))
    assert len(rows) == 2_200
    assert {int(r["id"]) for r in rows} == set(range(1, 2_201))


def test_a_page_counts_no_further_than_the_cap(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_cli.services import common

    monkeypatch.setattr(common, "COUNT_CAP", 300)
    crm.ok("pipeline", "list")
    for i in range(5):
        crm.ok("followup", "add", f"Call {i}", "--due", "tomorrow")
    result = crm.ok("followup", "list", "--limit", "2")
    assert "showing 2 of 5;" in result.err
    ctx = open_context()
    try:
        from crm_cli.services.contacts import ContactFilter, list_contacts

        with ctx.session(journal=False) as session:
            from crm_cli.store.models import Contact

            session.execute(
                insert(Contact),
                [
                    {
                        "name": f"P{i}",
                        "custom": {},
                        "created_at": datetime.now(UTC),
                        "updated_at": datetime.now(UTC),
                    }
                    for i in range(400)
                ],
            )
        with ctx.session(write=False) as session:
            page = list_contacts(ctx, session, ContactFilter(limit=50))
            assert (page.total, page.more, len(list(page.rows))) == (300, True, 50)
            page = list_contacts(ctx, session, ContactFilter(limit=500))
            assert (page.total, page.more, len(list(page.rows))) == (400, False, 400)
    finally:
        ctx.close()
    result = crm.ok("contact", "list", "--limit", "10")
    assert "showing 10 of more than 300;" in result.err


# A long listing reads names and tags beforehand (deal_views.LOOKUP_FROM), a short one joins
# them into each row: both must give the same records.
LOOKUP = pytest.mark.parametrize("lookup_from", [0, 10**9], ids=["looked-up", "joined"])


@LOOKUP
@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_streamed_deals_are_the_records_a_page_shows(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch, zone: str, lookup_from: int
) -> None:
    """Every streamed deal (the dicts CSV and plain text read, and the JSON text written
    straight from the row) is the record a page of the same listing gives, byte for byte in
    JSON: names, tags, money in each currency's decimals, and times in a zone with summer
    time, one with a half-hour offset and one whose summer time moves it by half an hour.

    The JSON text is written by a forked copy for most chunks (services.fanout), as a long
    listing's is: chunks of three deals here, the copy made after the first."""
    from crm_cli.render.output import _json_safe
    from crm_cli.services import common, deal_views, fanout
    from crm_cli.services.deal_views import DealFilter, list_deals
    from crm_cli.store.sales import DealTag

    monkeypatch.setattr(deal_views, "LOOKUP_FROM", lookup_from)
    monkeypatch.setattr(common, "RECORDS_CHUNK", 3)
    monkeypatch.setattr(fanout, "ALONE", 1)
    monkeypatch.setattr(fanout, "cores", lambda: 2)
    copies: list[Any] = []
    start = fanout._Helper.start

    def started(*args: Any) -> Any:
        copies.append(start(*args))
        return copies[-1]

    monkeypatch.setattr(fanout._Helper, "start", started)
    monkeypatch.setenv("CRM_TIMEZONE", zone)
    crm.ok("company", "add", "Ünïcode GmbH")
    crm.ok("contact", "add", "张伟", "--email", "zw@example.cn", "--company", "Ünïcode GmbH")
    crm.ok("deal", "add", 'Quote "x" \\ 报价', "--contact", "zw@example.cn", "--value", "12000.55")
    crm.ok("deal", "edit", "1", "--close", "2027-01-31", "--tag", "b-tag", "--tag", "äpfel")
    crm.ok(
        "deal", "add", "Yen", "--value", "1500", "--currency", "JPY", "--company", "Ünïcode GmbH"
    )
    crm.ok("deal", "add", "Dinar", "--value", "12.345", "--currency", "BHD", "--probability", "33")
    crm.ok("deal", "lost", "3", "--reason", "price")
    _add_deals(40)
    ctx = open_context()
    try:
        from sqlalchemy import update

        with ctx.session(journal=False) as session:
            # Around the summer-time changes of 2026 (Berlin 29 March 01:00 UTC, Lord Howe
            # 4 April 15:00 UTC), with and without fractions of a second.
            base = datetime(2026, 3, 29, 0, 7, 5, 123456, tzinfo=UTC)
            for i in range(4, 44):
                at = (
                    base + timedelta(minutes=23 * i) if i % 2 else base + timedelta(days=6, hours=i)
                )
                session.execute(
                    update(Deal)
                    .where(Deal.id == i)
                    .values(
                        created_at=at.replace(microsecond=0) if i % 3 else at,
                        updated_at=at + timedelta(seconds=i),
                        closed_at=at if i % 4 == 0 else None,
                        stage_entered_at=datetime.now(UTC) - timedelta(days=i, hours=12),
                        probability=50 if i % 5 == 0 else None,
                        value_minor=i * 1001,
                        source="web" if i % 6 == 0 else None,
                    )
                )
            session.execute(insert(DealTag), [{"deal_id": i, "tag_id": 1} for i in (5, 6, 7)])
            # Stored text that is shown, never obeyed: controls, C1, bidi (older rows, imports).
            session.execute(
                update(Deal).where(Deal.id == 4).values(title="Esc \x1b[2J \u009b \u202e end")
            )
            session.execute(update(Deal).where(Deal.id == 3).values(lost_reason="price\nline"))
        with ctx.session(write=False) as session:
            flt = DealFilter(status="all", limit=None)
            paged = list_deals(ctx, session, DealFilter(status="all", limit=1_000)).rows
            streamed = list(list_deals(ctx, session, flt).rows)
            blocks = list_deals(ctx, session, flt).rows
            texts = ",\n".join(blocks.json_blocks()).split(",\n")  # type: ignore[attr-defined]
    finally:
        ctx.close()
    assert len(paged) == len(streamed) == len(texts) == 43
    assert [list(r.items()) for r in streamed] == [list(r.items()) for r in paged]
    expected = [_json_safe(json.dumps(r, ensure_ascii=False)) for r in paged]
    assert [_json_safe(t) for t in texts] == expected
    # And as written to a pipe: one record a line, each exactly its JSON.
    lines = crm.ok("deal", "list", "--status", "all", "--all", "--json").out.splitlines()
    assert [line.removesuffix(",") for line in lines[1:-1]] == expected
    # CSV too, its text made by the copy: the same as a page's CSV.
    streamed_csv = crm.ok("deal", "list", "--status", "all", "--all", "--csv").out
    assert streamed_csv == crm.ok("deal", "list", "--status", "all", "--limit", "100", "--csv").out
    assert len(streamed_csv.splitlines()) == 44
    # Each streamed listing forked its copy, and it wrote chunks (a failing copy would leave
    # them all to this process, with the same output).
    assert [c.answered > 3 for c in copies] == [True] * 3, copies
    by_id = {r["id"]: r for r in streamed}
    assert by_id[1]["tags"] == ["b-tag", "äpfel"] and by_id[1]["contact"] == "张伟"
    assert (by_id[2]["value"], by_id[3]["value"]) == (1500, 12.345)


def test_csv_cells_are_written_as_before_in_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    """The CSV writer's fast cells give what `csv_safe(column.cell(row))` gives, formulas made
    inert and numbers, phones, lists and flags as they were."""
    from crm_cli.render.output import Column, csv_safe, write_csv

    values = ["=1+1", "-12", "+4930 1234", "-x", "@a", "plain", "", True, False, ["a", "=b"],
              {"k": "v"}, 1.5, -1e-05, None, -5, 0, "\tx", "张伟"]  # fmt: skip
    columns = [Column(f"c{i}", f"c{i}") for i in range(len(values))]
    rows = [{f"c{i}": v for i, v in enumerate(values)}] * 2_500
    write_csv(iter(rows), columns)
    got = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    expected = [csv_safe(c.cell(rows[0])) for c in columns]
    assert got[0] == [c.key for c in columns]
    assert got[1:] == [expected] * 2_500
    assert expected[:4] == ["'=1+1", "-12", "+4930 1234", "'-x"]


@pytest.mark.parametrize(
    "filters",
    [
        ["--status", "all"],
        ["--tag", "hot"],
        ["--search", "renewal"],
        ["--removed"],
        ["--contact", "ana@example.com", "--status", "all"],
        ["--sort", "-value", "--status", "all"],
        ["--min-value", "100", "--currency", "EUR"],
    ],
)
def test_every_filter_streams_what_its_page_shows(
    db_url: str, crm: Runner, filters: list[str]
) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@example.com", "--company", "Acme")
    for i, value in enumerate(["50", "150", "150", "900"]):
        crm.ok("deal", "add", f"Acme renewal {i}", "--contact", "ana@example.com",
               "--value", value, "--tag", "hot" if i % 2 else "cold")  # fmt: skip
    crm.ok("deal", "add", "Other", "--value", "150")
    crm.ok("deal", "won", "2")
    crm.ok("deal", "rm", "3")
    streamed = crm.json("deal", "list", *filters, "--all", "--json")
    paged = crm.json("deal", "list", *filters, "--limit", "100", "--json")
    assert streamed == paged
    assert streamed, filters


@LOOKUP
def test_streamed_json_csv_and_ids_are_what_a_page_gives(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch, lookup_from: int
) -> None:
    """`deal list --all --json|--csv|--ids` (rows read a few at a time straight from the
    driver, `--ids` from the index alone, CSV without the times it does not print) give what a
    page of the same listing gives, parsed: with tags, a contact with custom fields and one
    removed since, CJK titles, three currencies, removed deals; over several chunks."""
    from crm_cli.services import common, deal_views

    monkeypatch.setattr(common, "RECORDS_CHUNK", 3)
    monkeypatch.setattr(deal_views, "LOOKUP_FROM", lookup_from)
    crm.ok("company", "add", "北京科技")
    crm.ok("contact", "add", "张伟", "--email", "zw@example.cn", "--company", "北京科技",
           "--field", "tier=gold")  # fmt: skip
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@example.com")
    crm.ok("contact", "add", "Gone Soon", "--email", "gone@example.com")
    for i, (title, value, currency, contact) in enumerate(
        [
            ("报价 一", "12000.55", "EUR", "zw@example.cn"),
            ("Renewal", "1500", "JPY", "ana@example.com"),
            ("Dinar", "12.345", "BHD", "gone@example.com"),
            ("見積もり", "99", "EUR", "ana@example.com"),
            ("Plain", "0.5", "EUR", None),
            ('Quote "x" \\', "7", "JPY", "zw@example.cn"),
            ("Old", "3", "EUR", "ana@example.com"),
        ]
    ):
        args = ["deal", "add", title, "--value", value, "--currency", currency]
        crm.ok(*args, *(["--contact", contact] if contact else []))
        if i % 2 == 0:
            crm.ok("deal", "edit", str(i + 1), "--tag", "b-tag", "--tag", "äpfel")
    crm.ok("deal", "won", "2")
    crm.ok("deal", "lost", "4", "--reason", "price")
    crm.ok("deal", "rm", "7", "--yes")
    crm.ok("contact", "rm", "gone@example.com", "--yes")
    for filters in (["--status", "all"], ["--removed"], ["--tag", "äpfel", "--sort", "-value"]):
        streamed = crm.json("deal", "list", *filters, "--all", "--json")
        paged = crm.json("deal", "list", *filters, "--limit", "100", "--json")
        assert streamed == paged, filters
        csv_all = crm.ok("deal", "list", *filters, "--all", "--csv").out
        csv_page = crm.ok("deal", "list", *filters, "--limit", "100", "--csv").out
        assert list(csv.reader(io.StringIO(csv_all))) == list(csv.reader(io.StringIO(csv_page)))
        ids = crm.ok("deal", "list", *filters, "--all", "--ids").out.split()
        assert ids == [str(r["id"]) for r in paged]
    everything = {
        r["id"]: r for r in crm.json("deal", "list", "--status", "all", "--all", "--json")
    }
    assert sorted(everything) == [1, 2, 3, 4, 5, 6]
    assert everything[1]["tags"] == ["b-tag", "äpfel"] and everything[1]["company"] == "北京科技"
    assert everything[3]["contact"] == "Gone Soon" and everything[3]["value"] == 12.345
    assert (everything[2]["value"], everything[2]["currency"]) == (1500, "JPY")
    assert everything[6]["title"] == 'Quote "x" \\' and everything[5]["contact"] is None


@pytest.mark.parametrize(
    "listing",
    [
        ["contact", "list"],
        ["contact", "list", "--tag", "hot"],
        ["contact", "list", "--removed"],
        ["company", "list"],
        ["followup", "list", "--all"],
        ["log", "list"],
        ["feedback", "list"],
    ],
)
def test_ids_of_every_listing_are_the_ids_its_records_have(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch, listing: list[str]
) -> None:
    """`--ids` on a whole listing reads the ids alone (services.common.stream): the same ids,
    in the same order, as the listing's records, over several chunks."""
    from crm_cli.services import common

    monkeypatch.setattr(common, "RECORDS_CHUNK", 2)
    for i, name in enumerate(["Zoë", "Ana", "张伟", "Bo", "Cy"]):
        email = f"p{i}@example.com"
        crm.ok("contact", "add", name, "--email", email, "--company", f"Firm {i % 2}")
        crm.ok("followup", "add", f"Call {name}", "--due", f"2027-01-0{i + 1}", "--contact", email)
        crm.ok("log", "call", email, f"Talked {i}")
        crm.ok("feedback", "add", email, "--kind", "nps", "--score", str(i + 5))
    crm.ok("contact", "tag", "1", "3", "4", "+hot")
    crm.ok("contact", "rm", "p4@example.com", "--yes")
    records = crm.json(*listing, "--all", "--json")
    ids = crm.ok(*listing, "--all", "--ids").out.split()
    assert ids == [str(r["id"]) for r in records]
    assert ids, listing
