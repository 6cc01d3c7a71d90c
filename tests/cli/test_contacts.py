"""Contacts and companies through the real command, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from crm_cli.errors import ExitCode


def _contact_count(crm: Any, *extra: str) -> int:
    return len(crm.json("contact", "list", "--all", *extra))


def test_scripted_session(crm: Any, db_url: str) -> None:
    """The acceptance session: add with CJK name, local phones, email; list; search; edit;
    remove and restore; add a company and link it."""
    crm.ok("config", "set", "defaults.phone_region", "CN")
    added = crm.json(
        "contact",
        "add",
        "张伟",
        "--email",
        "Zhang.Wei@Example.CN",
        "--phone",
        "010 6552 9988",
        "--phone",
        "138 0013 8000",
        "--title",
        "工程师",
        "--field",
        "wechat=zw88",
        "--tag",
        "vip",
    )
    assert added["name"] == "张伟"
    assert added["emails"] == ["zhang.wei@example.cn"]
    assert added["phones"] == ["+861065529988", "+8613800138000"]
    assert added["custom"] == {"wechat": "zw88"}
    assert added["tags"] == ["vip"]
    assert added["owner"] == "Test User"

    listed = crm.json("contact", "list")
    assert [c["id"] for c in listed] == [added["id"]]
    assert listed[0]["phones"] == added["phones"]

    crm.ok("contact", "edit", str(added["id"]), "--field", "note=张伟在北京工作")
    for query in ("张伟", "北京", "zhang", "65529988", "zw88"):
        hits = crm.json("search", query)
        assert [(h["kind"], h["id"]) for h in hits] == [("contact", added["id"])], query

    edited = crm.json(
        "contact",
        "edit",
        "zhang.wei@example.cn",
        "--title",
        "CTO",
        "--add-email",
        "zw@yunhai.cn",
        "--lifecycle",
        "prospect",
    )
    assert edited["title"] == "CTO"
    assert edited["emails"] == ["zhang.wei@example.cn", "zw@yunhai.cn"]
    assert edited["lifecycle"] == "prospect"

    crm.ok("contact", "rm", "zw@yunhai.cn")
    assert _contact_count(crm) == 0
    assert crm.json("search", "张伟") == []
    removed = crm.json("contact", "list", "--removed")
    assert [c["id"] for c in removed] == [added["id"]]
    crm.ok("contact", "restore", str(added["id"]))
    assert _contact_count(crm) == 1

    company = crm.json("company", "add", "北京云海科技", "--domain", "yunhai.cn")
    linked = crm.json("contact", "edit", str(added["id"]), "--company", "北京云海科技")
    assert linked["company_id"] == company["id"]
    assert linked["company"] == "北京云海科技"
    shown = crm.json("company", "show", "北京云海科技")
    assert [c["id"] for c in shown["contacts"]] == [added["id"]]
    assert crm.json("contact", "list", "--company", str(company["id"]))[0]["id"] == added["id"]
    assert crm.json("search", "张伟")[0]["id"] == added["id"]
    assert crm.json("db", "check")["problems"] == []


def test_bad_values_change_nothing(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    cases = [
        (["contact", "add", "Bo", "--email", "not-an-email"], ExitCode.USAGE, "not-an-email"),
        (["contact", "add", "Bo", "--phone", "12"], ExitCode.USAGE, "'12'"),
        (["contact", "add", "Bo", "--phone", "hello"], ExitCode.USAGE, "hello"),
        (["contact", "add", "Bo", "--bogus"], ExitCode.USAGE, "--bogus"),
        (["contact", "show", "999"], ExitCode.NOT_FOUND, "999"),
        (["contact", "edit", "999", "--title", "x"], ExitCode.NOT_FOUND, "999"),
        (["contact", "add", "Bo", "--email", "ana@acme.com"], ExitCode.CONFLICT, "ana@acme.com"),
        (["contact", "add", "Bo", "--lifecycle", "vip"], ExitCode.USAGE, "vip"),
        (["contact", "edit", "ana@acme.com", "--email", "bad@"], ExitCode.USAGE, "bad@"),
    ]
    before = crm.json("contact", "list", "--all")
    for args, code, named in cases:
        result = crm(*args)
        assert result.code == code, (args, result)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("crm: error: "), result
        assert named in lines[0], result
        assert "Traceback" not in result.err
    assert crm.json("contact", "list", "--all") == before


def test_list_filters_sort_and_paging(crm: Any, db_url: str) -> None:
    crm.ok("user", "add", "Bo Chen", "--email", "bo@example.com")
    crm.ok("contact", "add", "Carla", "--tag", "vip", "--lifecycle", "customer")
    crm.ok("contact", "add", "Alba", "--tag", "cold", "--owner", "bo@example.com")
    crm.ok("contact", "add", "Bea", "--tag", "vip", "--company", "Acme")
    assert [c["name"] for c in crm.json("contact", "list")] == ["Alba", "Bea", "Carla"]
    assert [c["name"] for c in crm.json("contact", "list", "--sort", "-name")] == [
        "Carla",
        "Bea",
        "Alba",
    ]
    assert [c["name"] for c in crm.json("contact", "list", "--tag", "vip")] == ["Bea", "Carla"]
    assert [c["name"] for c in crm.json("contact", "list", "--lifecycle", "customer")] == ["Carla"]
    assert [c["name"] for c in crm.json("contact", "list", "--owner", "Bo Chen")] == ["Alba"]
    assert [c["name"] for c in crm.json("contact", "list", "--mine")] == ["Bea", "Carla"]
    assert [c["name"] for c in crm.json("contact", "list", "--company", "acme")] == ["Bea"]
    assert [c["name"] for c in crm.json("contact", "list", "--search", "car")] == ["Carla"]
    page = crm("contact", "list", "--limit", "2", "--json")
    assert len(page.json) == 2 and "showing 2 of 3" in page.err
    assert crm("contact", "list", "--sort", "shoe").code == ExitCode.USAGE


def test_tags_and_fields(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com", "--tag", "cold", "-f", "tier=2")
    tagged = crm.json("contact", "tag", "ana@acme.com", "+vip", "-cold", "+Partner")
    assert tagged["tags"] == ["partner", "vip"]
    edited = crm.json("contact", "edit", "ana@acme.com", "-f", "tier=", "-f", "region=EMEA")
    assert edited["custom"] == {"region": "EMEA"}
    assert crm("contact", "edit", "ana@acme.com", "-f", "novalue").code == ExitCode.USAGE


def test_bulk_remove_asks_without_yes(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "A", "--email", "a@x.com")
    crm.ok("contact", "add", "B", "--email", "b@x.com")
    refused = crm("contact", "rm", "a@x.com", "b@x.com")
    assert refused.code == ExitCode.FAILURE and "--yes" in refused.err
    assert _contact_count(crm) == 2
    crm.ok("contact", "rm", "a@x.com", "b@x.com", "--yes")
    assert _contact_count(crm) == 0
    assert _contact_count(crm, "--removed") == 2


def test_email_of_removed_contact_points_to_restore(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "A", "--email", "a@x.com")
    crm.ok("contact", "rm", "a@x.com")
    clash = crm("contact", "add", "A again", "--email", "a@x.com")
    assert clash.code == ExitCode.CONFLICT
    assert "crm contact restore" in clash.err


def test_companies(crm: Any, db_url: str) -> None:
    acme = crm.json(
        "company",
        "add",
        "Acme GmbH",
        "--domain",
        "https://www.Acme.de/",
        "--industry",
        "Manufacturing",
        "--tag",
        "key-account",
    )
    assert acme["domain"] == "acme.de"
    assert crm("company", "add", "acme gmbh").code == ExitCode.CONFLICT
    crm.ok("contact", "add", "Ana", "--company", str(acme["id"]))
    renamed = crm.json("company", "edit", "Acme GmbH", "--name", "Acme AG")
    assert renamed["name"] == "Acme AG"
    # Contacts are found by their company's new name.
    assert [h["kind"] for h in crm.json("search", "acme ag", "--kind", "contact")] == ["contact"]
    rows = crm.json("company", "list")
    assert rows[0]["contacts"] == 1
    crm.ok("company", "rm", "Acme AG")
    assert crm.json("company", "list") == []
    crm.ok("company", "restore", str(acme["id"]))
    assert crm.json("company", "show", "acme.de")["id"] == acme["id"]
    assert crm("company", "show", "Nope").code == ExitCode.NOT_FOUND


def test_csv_output(crm: Any, db_url: str) -> None:
    import csv
    import io

    crm.ok("contact", "add", '=HYPERLINK("x")', "--phone", "+49 30 1234567")
    out = crm.ok("contact", "list", "--csv").out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["name"] == '\'=HYPERLINK("x")'  # made inert for spreadsheets
    assert rows[0]["phones"] == "+49301234567"  # a phone is data, left alone
