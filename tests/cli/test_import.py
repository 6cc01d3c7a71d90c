"""`crm import`: rows in, matched, planned, written as one change set; bad rows kept aside.

Each test checks what a user would: the records afterwards (`--json`), the report, the exit
code, the rejects file. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest

from crm_cli.cli.importing import ROWS_REJECTED
from tests.conftest import Runner


def _write(path: Path, text: str, encoding: str = "utf-8") -> str:
    path.write_bytes(text.encode(encoding))
    return str(path)


def _state(crm: Runner) -> dict[str, Any]:
    return {
        "contacts": crm.json("contact", "list", "--all"),
        "companies": crm.json("company", "list", "--all"),
        "deals": crm.json("deal", "list", "--all", "--status", "all"),
    }


CONTACTS = (
    "Name,E-mail,Phone,Company,Tags,Segment\n"
    "Ana Lima,ana@acme.com,+49 30 1234567,Acme,vip;q1,gold\n"
    "张伟,zhang.wei@yunhai.cn,,云海科技,,\n"
)
MAP = ["--map", "email=E-mail", "--map", "field.segment=Segment"]


def test_contacts_go_in_and_a_second_import_changes_nothing(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    path = _write(tmp_path / "c.csv", CONTACTS)
    report = crm.json("import", "contacts", path, *MAP)
    assert report["counts"]["new"] == 2
    contacts = {c["name"]: c for c in crm.json("contact", "list", "--all")}
    ana = contacts["Ana Lima"]
    assert ana["emails"] == ["ana@acme.com"]
    assert ana["phones"] == ["+49301234567"]
    assert ana["company"] == "Acme"
    assert ana["tags"] == ["q1", "vip"]
    assert ana["custom"] == {"segment": "gold"}
    assert contacts["张伟"]["company"] == "云海科技"  # a Chinese name kept whole, not split
    assert contacts["张伟"]["given_name"] is None
    before = _state(crm)
    again = crm.json("import", "contacts", path, *MAP)
    assert again["counts"]["unchanged"] == 2
    assert again["counts"]["new"] == again["counts"]["update"] == 0
    assert {r["match"] for r in again["rows"]} == {
        "email 'ana@acme.com'",
        "email 'zhang.wei@yunhai.cn'",
    }
    assert _state(crm) == before


def test_undo_takes_a_whole_import_back(db_url: str, crm: Runner, tmp_path: Path) -> None:
    crm.ok("contact", "add", "Jonas Weber", "--email", "jonas@acme.de", "--company", "Acme")
    before = _state(crm)
    path = _write(
        tmp_path / "c.csv",
        CONTACTS + "Jonas Weber,jonas@acme.de,,Acme,,platinum\n",
    )
    report = crm.json("import", "contacts", path, *MAP)
    assert report["counts"] == {**report["counts"], "new": 2, "update": 1}
    assert len(crm.json("contact", "list", "--all")) == 3
    crm.ok("undo")
    assert _state(crm) == before


def test_undo_of_a_big_import_counts_the_records_instead_of_naming_each(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    header = CONTACTS.split("\n")[0]
    rows = "".join(f"Person {i},p{i}@example.com,,Firm {i % 3},,\n" for i in range(25))
    crm.ok("import", "contacts", _write(tmp_path / "c.csv", f"{header}\n{rows}"), *MAP)
    done = crm.ok("undo")
    said = done.out + done.err
    assert "25 contacts, 3 companies" in said, said
    assert "contact 1," not in said
    assert crm.json("contact", "list", "--all") == []
    back = re.search(r"`crm undo (\d+)` re-applies it", said)
    assert back, said
    again = crm.json("undo", back.group(1))  # the import is back; JSON names every record
    assert (
        sorted(r.rsplit(" ", 1)[0] for r in again["records"]) == ["company"] * 3 + ["contact"] * 25
    )
    assert len(crm.json("contact", "list", "--all")) == 25


def test_dry_run_writes_nothing_and_explains_each_row(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com", "--title", "CTO")
    before = _state(crm)
    path = _write(
        tmp_path / "c.csv",
        "name,email,title\nAna Lima,ana@acme.com,CEO\nBo Chen,bo@example.com,\n"
        "Bo Again,BO@example.com,\nBad,nope,\n",
    )
    result = crm("import", "contacts", path, "--dry-run", "--json")
    assert result.code == ROWS_REJECTED
    rows = {r["line"]: r for r in result.json["rows"]}
    assert result.json["dry_run"] is True
    assert rows[2]["decision"] == "update"
    assert rows[2]["match"] == "email 'ana@acme.com'"
    assert rows[2]["changes"] == {"title": {"old": "CTO", "new": "CEO"}}
    assert rows[3]["decision"] == "new"
    assert rows[4]["decision"] == "duplicate"
    assert "line 3" in rows[4]["error"]
    assert rows[5]["decision"] == "rejected"
    assert rows[5]["error"].startswith("email 'nope'")
    assert _state(crm) == before
    text = crm("import", "contacts", path, "--dry-run")
    assert "line 2: update contact" in text.out
    assert "title 'CTO' -> 'CEO'" in text.out


@pytest.mark.parametrize(
    ("on_match", "title", "phones"),
    [
        ("update", "CEO", ["+49301234567", "+493098765432"]),
        ("skip", "CTO", ["+49301234567"]),
        ("fill", "CTO", ["+49301234567"]),
    ],
)
def test_on_match(
    sqlite_url: str,
    crm: Runner,
    tmp_path: Path,
    on_match: str,
    title: str,
    phones: list[str],
) -> None:
    crm.ok(
        "contact", "add", "Ana", "--email", "ana@acme.com", "--title", "CTO",
        "--phone", "+49 30 1234567",
    )  # fmt: skip
    path = _write(
        tmp_path / "c.csv",
        "name,email,title,phone,source\nAna,ana@acme.com,CEO,+49 30 98765432,fair\n",
    )
    crm("import", "contacts", path, "--on-match", on_match)
    [ana] = crm.json("contact", "list")
    assert ana["title"] == title
    assert ana["phones"] == phones
    # fill sets what was empty; skip leaves the record alone.
    assert ana["source"] == (None if on_match == "skip" else "fair")


def test_match_by_phone_and_external_id(sqlite_url: str, crm: Runner, tmp_path: Path) -> None:
    crm.ok("contact", "add", "Ana", "--phone", "+49 30 1234567")
    path = _write(tmp_path / "c.csv", "id,name,phone\nX-1,Ana Lima,+49301234567\n")
    report = crm.json("import", "contacts", path, "--map", "external_id=id")
    assert report["rows"][0]["match"] == "phone '+49301234567'"
    renamed = _write(tmp_path / "d.csv", "id,name\nX-1,Ana Maria Lima\n")
    report = crm.json("import", "contacts", renamed, "--map", "external_id=id")
    assert report["rows"][0]["match"] == "external_id 'X-1'"
    assert [c["name"] for c in crm.json("contact", "list")] == ["Ana Maria Lima"]


def test_bad_rows_go_to_the_rejects_file_and_importing_it_fixed_completes(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com")
    path = _write(
        tmp_path / "deals.csv",
        "Deal,Contact,Stage,Amount,Close\n"
        "Good one,ana@acme.com,proposal,1200,2027-01-31\n"
        "Bad email contact,nobody-at-all,proposal,10,2027-01-31\n"
        "Unknown stage,ana@acme.com,Negotiating hard,10,2027-01-31\n"
        "Negative,ana@acme.com,lead,-50,2027-01-31\n"
        "Impossible date,ana@acme.com,lead,5,2027-02-30\n"
        "Unknown contact,ghost@example.com,lead,5,2027-01-31\n",
    )
    rejects = tmp_path / "rejects.csv"
    args = ["--map", "title=Deal", "--map", "value=Amount", "--map", "expected_close=Close"]
    result = crm("import", "deals", path, *args, "--rejects", str(rejects))
    assert result.code == ROWS_REJECTED
    assert "5 rows were not imported" in result.err
    deals = crm.json("deal", "list", "--all")
    assert [d["title"] for d in deals] == ["Good one"]
    assert deals[0]["value"] == 1200
    with rejects.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Deal", "Contact", "Stage", "Amount", "Close", "error"]
    errors = {r[0]: r[5] for r in rows[1:]}
    assert rows[1][:5] == ["Bad email contact", "nobody-at-all", "proposal", "10", "2027-01-31"]
    assert errors["Unknown stage"].startswith("stage 'Negotiating hard'")
    assert errors["Negative"].startswith("value '-50'") and "negative" in errors["Negative"]
    assert errors["Impossible date"].startswith("expected_close '2027-02-30'")
    assert errors["Unknown contact"].startswith("contact 'ghost@example.com'")
    assert (rejects.stat().st_mode & 0o777) == 0o600
    # Fix the rejects in the file itself, and import it.
    fixed = rejects.read_text(encoding="utf-8")
    fixed = fixed.replace("nobody-at-all", "ana@acme.com").replace(
        "Negotiating hard", "negotiation"
    )
    fixed = fixed.replace("-50", "50").replace("2027-02-30", "2027-02-28")
    fixed = fixed.replace("ghost@example.com", "ana@acme.com")
    rejects.write_text(fixed, encoding="utf-8")
    crm.ok("import", "deals", str(rejects), *args)
    assert len(crm.json("deal", "list", "--all")) == 6


def test_encodings_delimiters_and_odd_layouts(sqlite_url: str, crm: Runner, tmp_path: Path) -> None:
    files = {
        "latin1.csv": ("NAME;CITY\r\nPébéo of America;Köln\r\n", "cp1252"),
        "utf16.csv": ("\ufeffname\tindustry\nJosé Núñez SL\tmedia\n", "utf-16-le"),
        "utf16nobom.csv": ("name,industry\nÅström AB,retail\n", "utf-16-le"),
        "gb.csv": ("name,industry\n云海科技,软件\n", "gb18030"),
        "sjis.csv": ("name|industry\n山田商事|商社\n", "shift_jis"),
        "cr.csv": ('name,address\r"Quoted, Inc","Line 1\nLine 2"\r\rNext Co,\r', "utf-8"),
        "bom.csv": ("\ufeffname,name\nDouble Name Co,Second\n", "utf-8"),
        "preamble.csv": (
            "Notes:\nexported by someone\n\nname,industry\nAfter Preamble,x\n",
            "utf-8",
        ),
    }
    for file_name, (text, encoding) in files.items():
        path = _write(tmp_path / file_name, text, encoding)
        extra = ["--skip-lines", "3"] if file_name == "preamble.csv" else []
        if file_name == "latin1.csv":
            extra = ["--map", "address=CITY"]
        crm.ok("import", "companies", path, *extra)
    companies = {c["name"]: c for c in crm.json("company", "list", "--all")}
    assert companies["Pébéo of America"]["address"] == "Köln"
    assert companies["José Núñez SL"]["industry"] == "media"
    assert "Åström AB" in companies
    assert companies["云海科技"]["industry"] == "软件"
    assert companies["山田商事"]["industry"] == "商社"
    assert companies["Quoted, Inc"]["address"] == "Line 1\nLine 2"
    assert "Next Co" in companies
    assert "Double Name Co Second" in companies  # two columns named alike feed one field
    assert "After Preamble" in companies


def test_mapping_file_translates_values(sqlite_url: str, crm: Runner, tmp_path: Path) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[columns]\ntitle = "Negócio"\nvalue = "Valor"\nstatus = "Situação"\nstage = "Etapa"\n'
        'closed_at = "Fechado em"\n\n[set]\ncurrency = "BRL"\n\n'
        '[values.status]\nGanho = "won"\nPerdido = "lost"\nAberto = "open"\n\n'
        '[values.stage]\nProposta = "proposal"\n',
        encoding="utf-8",
    )
    path = _write(
        tmp_path / "negocios.csv",
        "Negócio;Valor;Situação;Etapa;Fechado em;Motivo\n"
        "Contrato anual;R$ 1.234,56;Ganho;Proposta;15/03/2026;\n"
        "Piloto;R$ 99,00;Aberto;Proposta;;\n",
    )
    report = crm.json("import", "deals", path, "--mapping", str(mapping), "--decimal-comma")
    assert report["counts"]["new"] == 2
    assert report["source"]["unmapped"] == ["Motivo"]
    deals = {d["title"]: d for d in crm.json("deal", "list", "--all", "--status", "all")}
    won = crm.json("deal", "show", str(deals["Contrato anual"]["id"]))
    assert won["status"] == "won"
    assert won["value"] == 1234.56 and won["currency"] == "BRL"
    assert won["closed_at"].startswith("2026-03-15")
    # The open stage it was in is kept in its history, then the win.
    assert sorted((c["from"] or "", c["to"]) for c in won["stage_changes"]) == [
        ("", "proposal"),
        ("proposal", "won"),
    ]
    assert won["created_at"] <= won["closed_at"]
    assert deals["Piloto"]["stage"] == "proposal" and deals["Piloto"]["status"] == "open"


def test_a_won_deal_makes_its_contact_a_customer(
    sqlite_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com")
    path = _write(
        tmp_path / "d.csv", "title,contact,status,closed_at\nBig,ana@acme.com,won,2026-01-10\n"
    )
    result = crm.ok("import", "deals", path)
    assert "is now a customer" in result.err
    [ana] = crm.json("contact", "list")
    assert ana["lifecycle"] == "customer"
    [deal] = crm.json("deal", "list", "--all", "--status", "all")
    assert deal["company"] is None and deal["contact"] == "Ana" and deal["status"] == "won"


def test_ambiguous_dates_are_refused_naming_the_rows(
    sqlite_url: str, crm: Runner, tmp_path: Path
) -> None:
    path = _write(tmp_path / "d.csv", "title,close\nA,03/04/2027\nB,05/06/2027\n")
    result = crm("import", "deals", path)
    assert result.code == 2
    assert "lines 2, 3" in result.err and "--date-format" in result.err
    assert crm.json("deal", "list", "--all") == []
    crm.ok("import", "deals", path, "--date-format", "dmy")
    closes = sorted(d["expected_close"] for d in crm.json("deal", "list", "--all"))
    assert closes == ["2027-04-03", "2027-06-05"]
    # One unambiguous date settles the order for the whole file.
    told = _write(tmp_path / "e.csv", "title,close,external_id\nC,25/12/2027,c\nD,01/02/2028,d\n")
    crm.ok("import", "deals", told)
    closes = {d["title"]: d["expected_close"] for d in crm.json("deal", "list", "--all")}
    assert closes["D"] == "2028-02-01"


def test_unknown_column_in_map_is_refused(sqlite_url: str, crm: Runner, tmp_path: Path) -> None:
    path = _write(tmp_path / "c.csv", "name,mail\nAna,ana@acme.com\n")
    result = crm("import", "contacts", path, "--map", "email=E-mail")
    assert result.code == 2
    assert "no column 'E-mail'" in result.err and "mail" in result.err
    result = crm("import", "contacts", path, "--map", "colour=mail")
    assert result.code == 2 and "map 'colour'" in result.err


def test_injection_payloads_import_as_text(sqlite_url: str, crm: Runner, tmp_path: Path) -> None:
    payloads = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "'=quoted", '=HYPERLINK("http://x")']
    lines = ["name,field.payload"] + [
        f'Company {i},"{p.replace(chr(34), chr(34) * 2)}"' for i, p in enumerate(payloads)
    ]
    # A file `crm export` wrote has the cells neutralised: import reads them back as they were.
    neutral = ["name,field.payload"] + [
        f'Exported {i},"\'{p.replace(chr(34), chr(34) * 2)}"' for i, p in enumerate(payloads)
    ]
    crm.ok("import", "companies", _write(tmp_path / "raw.csv", "\n".join(lines) + "\n"))
    crm.ok("import", "companies", _write(tmp_path / "neutral.csv", "\n".join(neutral) + "\n"))
    found = {c["name"]: c["custom"]["payload"] for c in crm.json("company", "list", "--all")}
    for i, payload in enumerate(payloads):
        assert found[f"Exported {i}"] == payload
        if not payload.startswith("'"):
            assert found[f"Company {i}"] == payload


def test_presets_list_and_print(sqlite_url: str, crm: Runner) -> None:
    listed = crm.json("import", "presets")
    names = {p["name"] for p in listed}
    assert {"google", "outlook", "hubspot", "pipedrive", "linkedin"} <= names
    text = crm.ok("import", "contacts", "-", "--preset", "google", "--print-mapping").out
    assert "[columns]" in text
    result = crm("import", "contacts", "x.csv", "--preset", "nosuch")
    assert result.code == 2 and "preset 'nosuch'" in result.err


def test_stdin(sqlite_url: str, crm: Runner) -> None:
    crm.ok("import", "contacts", "-", stdin="name,email\nAna,ana@acme.com\n")
    assert [c["name"] for c in crm.json("contact", "list")] == ["Ana"]


def test_interactions_feedback_and_followups(db_url: str, crm: Runner, tmp_path: Path) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com")
    calls = _write(
        tmp_path / "calls.csv",
        "Contact,Date,Type,Subject,Notes\n"
        "ana@acme.com,2026-03-01 10:00,call,Discussed renewal,Long talk\n"
        "ana@acme.com,2026-03-02 11:00,meeting,Demo,\n"
        "ghost@example.com,2026-03-02 11:00,call,Nobody,\n",
    )
    args = ["--map", "contact=Contact", "--map", "occurred_at=Date", "--map", "kind=Type"]
    args += ["--map", "summary=Subject", "--map", "body=Notes"]
    first = crm("import", "interactions", calls, *args, "--json")
    assert first.code == ROWS_REJECTED
    assert first.json["counts"]["new"] == 2
    log = {i["summary"]: i for i in crm.json("log", "list", "--all")}
    assert log["Discussed renewal"]["kind"] == "call"
    assert log["Discussed renewal"]["contact"] == "Ana"
    again = crm("import", "interactions", calls, *args, "--json").json
    assert again["counts"]["unchanged"] == 2 and again["counts"]["new"] == 0

    survey = _write(
        tmp_path / "nps.csv", "email,score,comment\nana@acme.com,9,Great\nana@acme.com,11,High\n"
    )
    fb_args = ["--set", "kind=nps", "--map", "contact=email", "--map", "text=comment"]
    result = crm("import", "feedback", survey, *fb_args, "--json")
    assert result.json["counts"]["new"] == 1
    assert result.json["rows"][1]["error"] == "score 11: nps scores run from 0 to 10"
    assert crm("import", "feedback", survey, *fb_args, "--json").json["counts"]["unchanged"] == 1
    [nps] = crm.json("feedback", "list", "--all")
    assert nps["score"] == 9 and nps["text"] == "Great"

    tasks = _write(
        tmp_path / "tasks.csv", "Subject,Due,Who\nCall back,2026-12-01 09:00,ana@acme.com\n"
    )
    fu_args = ["--map", "title=Subject", "--map", "due_at=Due", "--map", "contact=Who"]
    crm.ok("import", "followups", tasks, *fu_args)
    assert crm.json("import", "followups", tasks, *fu_args)["counts"]["unchanged"] == 1
    [task] = crm.json("followup", "list", "--all")
    assert task["title"] == "Call back" and task["contact"] == "Ana"
    assert task["due_at"].startswith("2026-12-01T09:00:00+01:00")
    crm.ok("undo")
    assert crm.json("followup", "list", "--all") == []
