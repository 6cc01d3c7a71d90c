"""Reading and writing vCards and CSV files: what QA found (typed addresses, categories with
spaces, the UID of one's own export, labels, CJK names from CSV, files that are not CSV)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Runner

ADR_HOME = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:John Doe\r\nN:Doe;John;;;\r\n"
    "EMAIL;TYPE=INTERNET:john.doe@example.com\r\n"
    "ADR;TYPE=HOME:;;123 Main St;Springfield;IL;62701;USA\r\n"
    "item1.ADR:;;9 Court Rd;Leeds;;;UK\r\nitem1.X-ABLabel:tennis club\r\nEND:VCARD\r\n"
)

CATEGORY_SPACE = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jane Roe\r\nEMAIL:jane@example.com\r\n"
    "CATEGORIES:My Contacts,Starred in Android\r\nEND:VCARD\r\n"
)


def _contact(crm: Runner, email: str) -> dict:
    return crm.json("contact", "show", email)


def test_a_typed_address_goes_in_as_a_custom_field(crm: Runner, db_url: str, tmp_path: Path):
    path = tmp_path / "adr.vcf"
    path.write_text(ADR_HOME)
    result = crm("import", "contacts", str(path))
    assert result.code == 0, result
    custom = _contact(crm, "john.doe@example.com")["custom"]
    assert custom["address.home"] == "123 Main St, Springfield, IL, 62701, USA"
    assert custom["address.tennis-club"] == "9 Court Rd, Leeds, UK"
    # The field is one `contact edit` takes, and the export writes it back as a typed ADR.
    crm.ok("contact", "edit", "john.doe@example.com", "--field", "address.work=1 Work Rd")
    out = tmp_path / "out.vcf"
    crm.ok("export", "contacts", "--vcf", "-o", str(out))
    card = out.read_text()
    assert "ADR;TYPE=home:;;123 Main St\\, Springfield\\, IL\\, 62701\\, USA;;;;" in card
    assert "ADR;TYPE=work:;;1 Work Rd;;;;" in card


def test_categories_with_spaces_become_tags(crm: Runner, db_url: str, tmp_path: Path):
    path = tmp_path / "cats.vcf"
    path.write_text(CATEGORY_SPACE)
    result = crm("import", "contacts", str(path))
    assert result.code == 0, result
    assert _contact(crm, "jane@example.com")["tags"] == ["my-contacts", "starred-in-android"]


def test_reimporting_ones_own_vcard_export_changes_nothing(
    crm: Runner, db_url: str, tmp_path: Path
):
    card = tmp_path / "ext.vcf"
    card.write_text(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ext One\r\nEMAIL:ext@example.com\r\n"
        "UID:google-77\r\nEND:VCARD\r\n"
    )
    crm.ok("import", "contacts", str(card))
    crm.ok("contact", "add", "Own One", "--email", "own@example.com")
    for version in ("4.0", "3.0"):
        out = tmp_path / f"out{version}.vcf"
        crm.ok("export", "contacts", "--vcf", "--vcard-version", version, "-o", str(out))
        text = out.read_text()
        assert "UID:google-77" in text  # the external id, not one made up
        report = crm("import", "contacts", str(out), "--json")
        assert report.code == 0, report
        assert report.json["counts"]["unchanged"] == 2, report.json
        assert report.json["counts"]["new"] == 0 and report.json["counts"]["update"] == 0
    assert len(crm.json("contact", "list", "--all")) == 2


def test_the_vcard_export_writes_stored_labels(crm: Runner, db_url: str, tmp_path: Path):
    from sqlalchemy import create_engine, text

    crm.ok("contact", "add", "Lab El", "--email", "w@x.io", "--email", "c@x.io")
    crm.ok("contact", "edit", "w@x.io", "--phone", "+49 170 1111111")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE contact_email SET label = 'work' WHERE email = 'w@x.io'"))
        conn.execute(text("UPDATE contact_email SET label = 'tennis club' WHERE email = 'c@x.io'"))
        conn.execute(text("UPDATE contact_phone SET label = 'mobile'"))
    engine.dispose()
    out = tmp_path / "out.vcf"
    crm.ok("export", "contacts", "--vcf", "-o", str(out))
    lines = out.read_text().splitlines()
    assert "EMAIL;TYPE=work:w@x.io" in lines
    assert "TEL;TYPE=cell:+491701111111" in lines
    assert "item1.EMAIL:c@x.io" in lines and "item1.X-ABLabel:tennis club" in lines


def test_cjk_given_and_family_names_from_csv_join_family_first(
    crm: Runner, db_url: str, tmp_path: Path
):
    path = tmp_path / "names.csv"
    path.write_text(
        "name,email,given_name,family_name\n"
        ",gonbe@example.jp,権兵衛,名無し\n"
        ",wang@example.cn,芳,王\n"
        ",ana@example.com,Ana,Lima\n"
        ",mixed@example.com,Fang,王\n",
        encoding="utf-8",
    )
    crm.ok("import", "contacts", str(path))
    assert _contact(crm, "gonbe@example.jp")["name"] == "名無し権兵衛"
    assert _contact(crm, "wang@example.cn")["name"] == "王芳"
    assert _contact(crm, "ana@example.com")["name"] == "Ana Lima"
    assert _contact(crm, "mixed@example.com")["name"] == "Fang 王"


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def test_files_that_are_not_csv_are_refused_with_one_line(crm: Runner, db_url: str, tmp_path: Path):
    crm.ok("contact", "add", "Keep Me", "--email", "keep@example.com")
    exported = crm.ok("export", "contacts", "--json").out
    files = {
        "contacts.json": exported.encode(),
        "contacts.jsonl": crm.ok("export", "contacts", "--jsonl").out.encode(),
        "binary.csv": bytes(range(256)) * 8,
        "png.csv": PNG,
    }
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = crm("import", "contacts", str(path), "--rejects", str(tmp_path / "rej.csv"))
        assert result.code == 2, (name, result)
        errors = [line for line in result.err.splitlines() if line.strip()]
        assert len(errors) == 1, errors
        assert "not CSV" in errors[0] or "not a CSV" in errors[0], errors
        assert not (tmp_path / "rej.csv").exists()
    assert [c["name"] for c in crm.json("contact", "list", "--all")] == ["Keep Me"]


def test_one_nul_byte_in_a_cell_is_still_csv(crm: Runner, db_url: str, tmp_path: Path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"name,email\nAna\x00 Lima,ana@example.com\nBo,bo@example.com\n")
    result = crm("import", "contacts", str(path))
    assert result.code == 6, result  # the one row rejected for its NUL, the other imported
    assert _contact(crm, "bo@example.com")["name"] == "Bo"


def test_a_vcard_on_stdin_is_not_read_as_csv(crm: Runner, db_url: str):
    result = crm("import", "contacts", "-", stdin=CATEGORY_SPACE)
    assert result.code == 0, result  # told by its content: read as a vCard
    assert _contact(crm, "jane@example.com")["name"] == "Jane Roe"
    result = crm("import", "contacts", "-", "--format", "vcard", stdin=CATEGORY_SPACE)
    assert result.code == 0, result
    assert "1 unchanged" in result.out + result.err
    result = crm("import", "contacts", "-", "--format", "csv", stdin=CATEGORY_SPACE)
    assert result.code == 2, result  # --format csv insists: refused, the way out named
    assert "vCard" in result.err and "--format vcard" in result.err


def test_a_record_gives_each_email_and_phone_with_its_label() -> None:
    """What the import stores in the label column: the codecs' `email:LABEL` keys, paired."""
    from crm_cli.io.mapping import Layout, records
    from crm_cli.io.vcard import read_vcards

    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Label Test\r\nEMAIL;TYPE=INTERNET,WORK:w@x.io\r\n"
        "EMAIL;TYPE=HOME:h@x.io\r\nTEL;TYPE=CELL:+49 170 1111111\r\n"
        "TEL;TYPE=WORK,FAX:+49 30 2222222\r\nitem1.EMAIL:club@x.io\r\n"
        "item1.X-ABLabel:tennis club\r\nEMAIL:plain@x.io\r\nEND:VCARD\r\n"
    )
    (rec,) = read_vcards(card.encode())
    assert sorted(rec.labelled("email")) == [
        ("club@x.io", "tennis club"),
        ("h@x.io", "home"),
        ("plain@x.io", None),
        ("w@x.io", "work"),
    ]
    assert sorted(rec.labelled("phone")) == [
        ("+49 170 1111111", "mobile"),
        ("+49 30 2222222", "fax"),
    ]
    fields = {"name": [0], "email:work": [1], "phone:mobile": [2]}
    layout = Layout(fields=fields, constants={}, values={}, unmapped=[], width=3)
    (row,) = records(layout, [(2, ["Csv Label", "cw@x.io", "+49 170 5555555"], [])])
    assert row.labelled("email") == [("cw@x.io", "work")]
    assert row.labelled("phone") == [("+49 170 5555555", "mobile")]


def test_a_vcard_is_recognised_by_its_content() -> None:
    from crm_cli.io.vcard import is_vcard

    assert is_vcard(CATEGORY_SPACE.encode())
    assert is_vcard(b"\xef\xbb\xbf\r\nbegin:vcard\nVERSION:2.1\nEND:VCARD\n")
    assert is_vcard("BEGIN:VCARD\r\nFN:Ann\r\nEND:VCARD\r\n".encode("utf-16"))
    assert not is_vcard(b"name,email\nBEGIN:VCARD,x@y.z\n")
    assert not is_vcard(b"")
