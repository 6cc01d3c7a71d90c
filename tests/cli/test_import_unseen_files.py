"""`crm import` with files of shapes the shipped samples do not have: each test builds one
odd file the way a real exporter writes it, imports it and checks what went in, that a bad
record is reported with its place and the rest goes in, and that nothing is mangled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crm_cli.cli.importing import ROWS_REJECTED
from tests.conftest import Runner


def _contacts(crm: Runner) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in crm.json("contact", "list")}


def _file(tmp_path: Path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


def test_excels_sep_line_names_the_delimiter_and_is_not_the_header(
    crm: Runner, tmp_path: Path
) -> None:
    path = _file(
        tmp_path,
        "excel.csv",
        "\ufeffsep=;\r\nname;email;phone\r\nAna Lima;ana@acme.com;+4930123456\r\nBo;nope;\r\n",
    )
    result = crm("import", "contacts", path, "--rejects", str(tmp_path / "rejects.csv"))
    assert result.code == ROWS_REJECTED, result
    assert "delimiter ';'" in result.err
    # The line number counts the sep= line, as an editor shows the file.
    assert "line 4: email 'nope'" in result.err
    ana = _contacts(crm)["Ana Lima"]
    assert (ana["emails"], ana["phones"]) == (["ana@acme.com"], ["+4930123456"])
    rejects = (tmp_path / "rejects.csv").read_text(encoding="utf-8").splitlines()
    assert rejects[0] == "name;email;phone;error"


def test_an_email_cell_with_a_mailto_prefix_imports_the_address(
    crm: Runner, tmp_path: Path
) -> None:
    path = _file(
        tmp_path,
        "links.csv",
        "name,email\r\nAna,mailto:ana@acme.com\r\nBo,  MAILTO:Bo@Acme.com ; bo@home.org\r\n",
    )
    crm.ok("import", "contacts", path)
    contacts = _contacts(crm)
    assert contacts["Ana"]["emails"] == ["ana@acme.com"]
    assert contacts["Bo"]["emails"] == ["bo@acme.com", "bo@home.org"]


def test_a_card_with_only_org_is_named_by_its_organisation(crm: Runner, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "org.vcf",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nORG:Acme\\, Inc.;Sales\r\nTEL:+14155550123\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:\r\nN:;;;;\r\nORG:Nandú SA\r\nEND:VCARD\r\n",
    )
    crm.ok("import", "contacts", path)
    contacts = _contacts(crm)
    assert contacts["Acme, Inc."]["company"] == "Acme, Inc."
    assert contacts["Acme, Inc."]["phones"] == ["+14155550123"]
    assert contacts["Nandú SA"]["custom"] == {}
    # crm's own export of them goes back in unchanged.
    exported = _file(tmp_path, "out.vcf", crm.ok("export", "contacts", "--vcf").out)
    assert "2 unchanged" in crm.ok("import", "contacts", exported).out


def test_short_chinese_and_japanese_files_are_read_in_their_own_encoding(
    crm: Runner, tmp_path: Path
) -> None:
    # One or two names: too little for a detector, which took GB18030 for Big5 and
    # kanji-only Shift_JIS for GB18030, and the names were stored garbled.
    for number, (name, encoding) in enumerate(
        [("张伟", "gb18030"), ("李娜", "gb18030"), ("陳大文", "big5"), ("鈴木健", "cp932")]
    ):
        path = _file(
            tmp_path, f"{number}.csv", f"name,email\r\n{name},p{number}@x.cn\r\n".encode(encoding)
        )
        result = crm.ok("import", "contacts", path)
        assert f"as {encoding}" in result.err, result
    assert sorted(_contacts(crm)) == sorted(["张伟", "李娜", "陳大文", "鈴木健"])


def test_a_quote_that_never_closes_rejects_its_row_and_the_rest_imports(
    crm: Runner, tmp_path: Path
) -> None:
    # The csv module reads everything after an unclosed quote into one cell: Bo and Cy were
    # lost inside Ana's name ('Ana,ana@x.com Bo,bo@x.com ...'), and the import said 1 new.
    path = _file(
        tmp_path,
        "runaway.csv",
        'name,email,title\r\nZoë,zoe@x.com,"two\r\nlines"\r\n"Ana,ana@x.com,x\r\n'
        "\r\nBo,bo@x.com,CEO\r\nCy,cy@x.com,\r\n",
    )
    rejects = tmp_path / "rejects.csv"
    result = crm("import", "contacts", path, "--rejects", str(rejects))
    assert result.code == ROWS_REJECTED, result
    assert "line 4: a quote opens a cell and never closes" in result.err
    contacts = _contacts(crm)
    assert sorted(contacts) == ["Bo", "Cy", "Zoë"]
    assert contacts["Zoë"]["title"] == "two lines"  # a title is one line
    assert contacts["Bo"]["title"] == "CEO"
    kept = rejects.read_text(encoding="utf-8").splitlines()
    assert kept[1].startswith('"""Ana",ana@x.com,x,"a quote opens')
    # Line numbers after it are the file's own.
    dry = crm("import", "contacts", path, "--dry-run", "--json")
    assert {r["line"]: r["decision"] for r in dry.json["rows"]} == {
        3: "unchanged",
        4: "rejected",
        6: "unchanged",
        7: "unchanged",
    }


def test_anniversary_is_kept_and_written_back(crm: Runner, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "dates.vcf",
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ana\r\nBDAY:19850412\r\nANNIVERSARY:20100612\r\n"
        "END:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bo\r\nX-ANNIVERSARY:2011-07-01\r\n"
        "END:VCARD\r\n",
    )
    crm.ok("import", "contacts", path)
    contacts = _contacts(crm)
    assert contacts["Ana"]["custom"] == {"birthday": "1985-04-12", "anniversary": "2010-06-12"}
    assert contacts["Bo"]["custom"] == {"anniversary": "2011-07-01"}
    four = crm.ok("export", "contacts", "--vcf").out
    assert "\r\nANNIVERSARY:20100612\r\n" in four
    three = crm.ok("export", "contacts", "--vcf", "--vcard-version", "3.0").out
    assert "\r\nX-ANNIVERSARY:2010-06-12\r\n" in three
    for text in (four, three):
        again = _file(tmp_path, "again.vcf", text)
        assert "2 unchanged" in crm.ok("import", "contacts", again).out


def test_the_preferred_email_and_phone_come_first(crm: Runner, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "pref.vcf",
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ana\r\nEMAIL;TYPE=work;PREF=2:w@x.com\r\n"
        "EMAIL;TYPE=home;PREF=1:h@x.com\r\nEMAIL:o@x.com\r\nTEL:+4930123456\r\n"
        "TEL;TYPE=cell;PREF=1:+4915112345678\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bo\r\nEMAIL;TYPE=INTERNET:b1@x.com\r\n"
        "EMAIL;TYPE=INTERNET,PREF:b2@x.com\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Cy\r\nEMAIL;INTERNET:c1@x.com\r\n"
        "EMAIL;PREF;INTERNET:c2@x.com\r\nEND:VCARD\r\n",
    )
    crm.ok("import", "contacts", path)
    contacts = _contacts(crm)
    assert contacts["Ana"]["emails"] == ["h@x.com", "w@x.com", "o@x.com"]
    assert contacts["Ana"]["email_labels"] == {"h@x.com": "home", "w@x.com": "work"}
    assert contacts["Ana"]["phones"] == ["+4915112345678", "+4930123456"]
    assert contacts["Bo"]["emails"] == ["b2@x.com", "b1@x.com"]
    assert contacts["Cy"]["emails"] == ["c2@x.com", "c1@x.com"]
    again = _file(tmp_path, "again.vcf", crm.ok("export", "contacts", "--vcf").out)
    assert "3 unchanged" in crm.ok("import", "contacts", again).out


def test_n_with_several_values_and_escaped_separators(crm: Runner, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "n.vcf",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;John,Jim;;;\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:O\\;Neil\\, Jr;Mary\\,Ann;;;\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Smith,Jones;Pat;;;\r\nEND:VCARD\r\n",
    )
    crm.ok("import", "contacts", path)
    contacts = _contacts(crm)
    assert contacts["John Jim Doe"]["given_name"] == "John Jim"
    assert contacts["Mary,Ann O;Neil, Jr"]["family_name"] == "O;Neil, Jr"
    assert contacts["Pat Smith,Jones"]["family_name"] == "Smith,Jones"  # 2.1: no lists
    again = _file(tmp_path, "again.vcf", crm.ok("export", "contacts", "--vcf").out)
    assert "3 unchanged" in crm.ok("import", "contacts", again).out


def test_a_utf8_file_with_some_windows_1252_lines_keeps_both_right(
    crm: Runner, tmp_path: Path
) -> None:
    # Two exports pasted together: read whole as Windows-1252, José was stored as JosÃ©.
    data = "name,email\r\nJosé Pérez,jose@x.com\r\n".encode() + "Zoë,zoe@x.com\r\n".encode("cp1252")
    result = crm.ok("import", "contacts", _file(tmp_path, "mixed.csv", data))
    assert "utf-8 (some lines cp1252)" in result.err
    assert sorted(_contacts(crm)) == ["José Pérez", "Zoë"]


def test_a_latin1_sign_is_not_taken_for_half_width_katakana(crm: Runner, tmp_path: Path) -> None:
    # © (0xa9) alone decodes in Shift_JIS as ｩ: the file was read as Shift_JIS.
    data = "name,title\r\nAna,© Acme 2024\r\nBo,Ü\r\n".encode("latin-1")
    result = crm.ok("import", "contacts", _file(tmp_path, "latin1.csv", data))
    assert "as cp1252" in result.err
    contacts = _contacts(crm)
    assert (contacts["Ana"]["title"], contacts["Bo"]["title"]) == ("© Acme 2024", "Ü")
    # Half-width katakana in words still read as Shift_JIS.
    kana = "name,email\r\nﾔﾏﾀﾞ ﾀﾛｳ,taro@x.jp\r\n".encode("cp932")
    assert "as cp932" in crm.ok("import", "contacts", _file(tmp_path, "kana.csv", kana)).err
    assert "ﾔﾏﾀﾞ ﾀﾛｳ" in _contacts(crm)


def test_a_short_windows_1252_vcard_is_not_read_as_chinese_or_korean(
    crm: Runner, tmp_path: Path
) -> None:
    # No CHARSET, two names: the detector said Korean or Chinese, and Gößl was stored as G套l.
    data = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Gößl\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Élan Ñúñez\r\nEND:VCARD\r\n"
    ).encode("cp1252")
    crm.ok("import", "contacts", _file(tmp_path, "short.vcf", data))
    japanese = "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:やまだ 太郎\r\nEND:VCARD\r\n".encode("cp932")
    crm.ok("import", "contacts", _file(tmp_path, "japanese.vcf", japanese))
    assert sorted(_contacts(crm)) == sorted(["Gößl", "Élan Ñúñez", "やまだ 太郎"])


def test_the_rejects_of_a_vcard_file_are_cards_that_import_once_fixed(
    crm: Runner, tmp_path: Path
) -> None:
    # They were a CSV file of one `error` column with each card's lines as cells after it:
    # nothing could import it again.
    path = _file(
        tmp_path,
        "cards.vcf",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken\r\nno colon here\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë Unended\r\nEMAIL:z@x.com\r\n",
    )
    rejects = tmp_path / "rejects.vcf"
    result = crm("import", "contacts", path, "--rejects", str(rejects))
    assert result.code == ROWS_REJECTED, result
    text = rejects.read_bytes().decode("utf-8")
    assert text.startswith("# card 2 (line 5): line 8 is not a property (no ':')")
    assert "\r\n# card 3 (line 10) never ends: END:VCARD is missing\r\nBEGIN:VCARD\r\n" in text
    assert text.endswith("EMAIL:z@x.com\r\nEND:VCARD\r\n")
    fixed = text.replace("no colon here\r\n", "")
    result = crm.ok("import", "contacts", "-", stdin=fixed)
    assert "2 new" in result.out
    assert sorted(_contacts(crm)) == ["Broken", "Good", "Zoë Unended"]


def test_line_breaks_inside_cells_are_stored_alike_whatever_the_file_ends_lines_with(
    crm: Runner, tmp_path: Path
) -> None:
    # Excel's CRLF inside a quoted cell was stored as is: the vCard export gave it back as
    # "\n", and importing crm's own vCard export changed the contact.
    crlf = 'name,email,Notes\r\nAna,ana@x.com,"line one\r\nline two"\r\n'
    cr = 'name,email,Notes\rBo,bo@x.com,"first\rsecond"\r'
    crm.ok("import", "contacts", _file(tmp_path, "crlf.csv", crlf), "--keep-unmapped")
    crm.ok("import", "contacts", _file(tmp_path, "cr.csv", cr), "--keep-unmapped")
    contacts = _contacts(crm)
    assert contacts["Ana"]["custom"] == {"Notes": "line one\nline two"}
    assert contacts["Bo"]["custom"] == {"Notes": "first\nsecond"}
    for args in (("--vcf",), ("--vcf", "--vcard-version", "3.0"), ("--csv",)):
        text = crm.ok("export", "contacts", *args).out
        again = _file(tmp_path, "again" + (".csv" if args == ("--csv",) else ".vcf"), text)
        assert "2 unchanged" in crm.ok("import", "contacts", again, "--keep-unmapped").out


def test_a_vcard_file_with_no_card_says_so(crm: Runner, tmp_path: Path) -> None:
    """An empty address book's export imports nothing, and the report says there was none
    (not refused: every card of the file, none, is accounted for)."""
    for name, data in (("empty.vcf", ""), ("junk.vcf", "hello\n")):
        result = crm("import", "contacts", _file(tmp_path, name, data))
        assert result.code == 0, result
        assert "holds no vCard" in result.err
    assert crm.json("contact", "list") == []


def test_a_card_with_no_name_is_rejected_in_a_cards_words(crm: Runner, tmp_path: Path) -> None:
    cards = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:hi\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana Lima\r\nEND:VCARD\r\n"
    )
    result = crm("import", "contacts", _file(tmp_path, "cards.vcf", cards))
    assert result.code == ROWS_REJECTED, result
    assert "card 1: name: missing (the card has no FN, N or ORG" in result.err
    assert list(_contacts(crm)) == ["Ana Lima"]
