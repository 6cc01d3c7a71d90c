"""The vCard codec: what a user's address book turns into, card by card, and back.

Reading is checked on small cards written here for each feature of real files (charsets,
quoted-printable, folding, groups, glued and nested cards, photos, broken cards); writing on
the text it produces (CRLF, folding, escaping, UID) and on the round trip: what `write_vcard`
writes, `read_vcards` reads back to the same values, in 4.0 and in 3.0.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from crm_cli.errors import InvalidValue
from crm_cli.io.vcard import (
    contact_uid,
    contact_values,
    count_cards,
    read_vcards,
    write_vcard,
    write_vcards,
)


def card(*lines: str, version: str = "3.0") -> bytes:
    return (
        "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD"]) + "\r\n"
    ).encode()


def read_one(data: bytes, **options: Any) -> dict[str, list[str]]:
    records = list(read_vcards(data, **options))
    assert len(records) == 1
    assert records[0].problem is None, records[0].problem
    return records[0].values


# --- reading: names -------------------------------------------------------------------------


def test_fn_is_the_name_and_n_gives_given_and_family() -> None:
    values = read_one(card("FN:Ana María Souza", "N:Souza;Ana María;;;"))
    assert values["name"] == ["Ana María Souza"]
    assert values["given_name"] == ["Ana María"]
    assert values["family_name"] == ["Souza"]


def test_a_chinese_name_stays_whole() -> None:
    values = read_one(card("FN:张伟", version="4.0"))
    assert values["name"] == ["张伟"]
    assert "given_name" not in values and "family_name" not in values


def test_name_built_from_n_when_fn_is_missing() -> None:
    assert read_one(card("N:Doe;John;Q;Dr.;Jr."))["name"] == ["Dr. John Q Doe Jr."]
    # CJK: family name first, no space between.
    assert read_one(card("N:山田;太郎;;;"))["name"] == ["山田太郎"]


# --- reading: charsets and encodings ----------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "name"),
    [
        ("UTF-8", "Zoë Ångström"),
        ("ISO-8859-1", "Zoë Ångström"),
        ("Windows-1252", "Zoë “Zed” Ångström"),
        ("SHIFT_JIS", "安藤ロイド"),
        ("GB2312", "张伟"),
        ("GB18030", "王小明"),
        ("Big5", "陳大文"),
    ],
)
def test_quoted_printable_in_the_declared_charset(charset: str, name: str) -> None:
    codec = {"SHIFT_JIS": "cp932", "ISO-8859-1": "latin-1", "Windows-1252": "cp1252"}
    encoded = name.encode(codec.get(charset, charset))
    qp = "".join(f"={byte:02X}" for byte in encoded)
    data = card(f"FN;CHARSET={charset};ENCODING=QUOTED-PRINTABLE:{qp}", version="2.1")
    assert read_one(data)["name"] == [name]


def test_quoted_printable_soft_line_breaks_and_newlines() -> None:
    data = card(
        "FN:Omega",
        "NOTE;ENCODING=QUOTED-PRINTABLE:first line=0D=0Asecond =",
        "line",
        version="2.1",
    )
    assert read_one(data)["field.note"] == ["first line\nsecond line"]


def test_raw_bytes_in_a_declared_charset() -> None:
    data = card("X", version="2.1").replace(b"X", "FN;CHARSET=SHIFT_JIS:安藤".encode("cp932"))
    assert read_one(data)["name"] == ["安藤"]


def test_no_charset_strict_utf8_first_then_windows_1252() -> None:
    utf8 = card("FN:Sören Nüßlebaum", version="2.1")
    legacy = card("FN:Sören Nüßlebaum", version="2.1").replace(
        "Sören Nüßlebaum".encode(), "Sören Nüßlebaum".encode("cp1252")
    )
    assert read_one(utf8)["name"] == ["Sören Nüßlebaum"]
    assert read_one(legacy)["name"] == ["Sören Nüßlebaum"]


def test_no_charset_on_some_lines_uses_the_charset_the_file_declares() -> None:
    data = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=SHIFT_JIS:"
        + "安藤".encode("cp932")
        + b"\r\nFN:"
        + "安藤ロイド".encode("cp932")
        + b"\r\nEND:VCARD\r\n"
    )
    assert read_one(data)["name"] == ["安藤ロイド"]


def test_an_unknown_charset_falls_back_instead_of_failing() -> None:
    data = card("FN;CHARSET=Murks;ENCODING=QUOTED-PRINTABLE:M=C3=B6lln", version="2.1")
    assert read_one(data)["name"] == ["Mölln"]


def test_encoding_option_overrides_the_guess() -> None:
    data = card("FN:x", version="2.1").replace(b"FN:x", b"FN:" + "אפרים".encode("cp1255"))
    assert read_one(data, encoding="cp1255")["name"] == ["אפרים"]
    with pytest.raises(InvalidValue):
        list(read_vcards(data, encoding="no-such-encoding"))


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_utf16_and_utf32_files(codec: str) -> None:
    text = card("FN:孔夫子", "EMAIL:k@example.cn").decode()
    assert read_one(text.encode(codec))["name"] == ["孔夫子"]


# --- reading: structure -----------------------------------------------------------------------


def test_folded_lines_are_unfolded() -> None:
    data = card("FN:Jonathan", " athan Doe", "NOTE:a long", "\tnote")
    values = read_one(data)
    assert values["name"] == ["Jonathanathan Doe"]
    assert values["field.note"] == ["a longnote"]


def test_many_cards_and_glued_cards_each_become_a_record() -> None:
    one = card("FN:One").rstrip(b"\r\n")
    two = card("FN:Two").rstrip(b"\r\n")
    three = card("FN:Three")
    records = list(
        read_vcards(one + two + b"\r\n" + three.lower().replace(b"fn:three", b"FN:Three"))
    )
    assert [r.first("name") for r in records] == ["One", "Two", "Three"]
    assert [r.number for r in records] == [1, 2, 3]
    assert count_cards(one + two) == 2


def test_nested_agent_cards_stay_inside_their_parent() -> None:
    data = card(
        "FN:Parent",
        "AGENT:",
        "BEGIN:VCARD",
        "VERSION:2.1",
        "FN:Secretary",
        "TEL:555",
        "END:VCARD",
        "TEL:+1 555 0100",
        version="2.1",
    )
    records = list(read_vcards(data + card("FN:Next")))
    assert [r.first("name") for r in records] == ["Parent", "Next"]
    assert records[0].values["phone"] == ["+1 555 0100"]
    assert records[0].original[4] == "BEGIN:VCARD"  # the report shows the card as it was


def test_comment_lines_and_blank_lines_are_skipped() -> None:
    data = card("# exported by a phone", "", "FN:Conference Call", version="2.1")
    assert read_one(data)["name"] == ["Conference Call"]


# --- reading: problem cards -------------------------------------------------------------------


def test_a_card_that_never_ends_is_reported_and_the_others_read() -> None:
    data = card("FN:First") + b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cut off\r\n"
    records = list(read_vcards(data))
    assert [r.number for r in records] == [1, 2]
    assert records[0].first("name") == "First"
    assert records[1].values == {}
    assert records[1].problem is not None
    assert "card 2" in records[1].problem and "line 5" in records[1].problem
    assert "END:VCARD" in records[1].problem
    assert records[1].original[2] == "FN:Cut off"


def test_an_unreadable_property_line_fails_its_card_only() -> None:
    data = card("FN:Good") + card("FN:Bad", 'EMAIL;TYPE="x:broken') + card("FN:Also good")
    records = list(read_vcards(data))
    assert [r.first("name") for r in records] == ["Good", None, "Also good"]
    assert records[1].problem is not None and "card 2" in records[1].problem
    assert records[1].values == {}


def test_a_card_with_nothing_to_keep_is_reported() -> None:
    records = list(read_vcards(card("X-ANDROID-CUSTOM:vnd.android/nickname;Nick")))
    assert records[0].problem is not None and "card 1" in records[0].problem


def test_odd_lines_of_properties_nobody_reads_do_not_spoil_the_card() -> None:
    values = read_one(card("FN:My Name", "X-messaging/twitter-All:kdecommunity"))
    assert values["name"] == ["My Name"]


def test_empty_file_gives_no_records() -> None:
    assert list(read_vcards(b"")) == []
    assert list(read_vcards(b"\xef\xbb\xbf\r\n")) == []


# --- reading: fields --------------------------------------------------------------------------


def test_emails_and_phones_with_labels() -> None:
    values = read_one(
        card(
            "FN:A",
            "EMAIL;TYPE=INTERNET,WORK,pref:a@work.example",
            "EMAIL;TYPE=HOME:a@home.example",
            "EMAIL:a@plain.example",
            "TEL;TYPE=CELL:+1 555 0101",
            "TEL;TYPE=WORK,FAX:+1 555 0102",
            "TEL;TYPE=VOICE,HOME:+1 555 0103",
            "item1.TEL:+1 555 0104",
            "item1.X-ABLabel:_$!<Assistant>!$_",
            "item2.EMAIL;TYPE=INTERNET:club@example.org",
            "item2.X-ABLabel:Tennis Club",
        )
    )
    assert values["email:work"] == ["a@work.example"]
    assert values["email:home"] == ["a@home.example"]
    assert values["email"] == ["a@plain.example"]
    assert values["email:tennis club"] == ["club@example.org"]
    assert values["phone:mobile"] == ["+1 555 0101"]
    assert values["phone:fax"] == ["+1 555 0102"]
    assert values["phone:home"] == ["+1 555 0103"]
    assert values["phone:assistant"] == ["+1 555 0104"]


def test_v21_bare_types_and_tel_uris() -> None:
    values = read_one(
        card(
            "FN:A",
            "TEL;CELL;PREF:0300000000",
            "EMAIL;INTERNET:x@y.z",
            "EMAIL;TYPE=EMAIL:o@y.z",  # Outlook: a TYPE that names the property itself
            version="2.1",
        )
    )
    assert values["phone:mobile"] == ["0300000000"]
    assert values["email"] == ["x@y.z", "o@y.z"]
    values = read_one(card("FN:A", "TEL;VALUE=uri;TYPE=home:tel:+1-555-0100", version="4.0"))
    assert values["phone:home"] == ["+1-555-0100"]


def test_company_title_tags_uid_and_custom_fields() -> None:
    values = read_one(
        card(
            "FN:A",
            "ORG:Acme\\, Inc.;Sales",
            "TITLE:Head of Sales",
            "ROLE:Buyer",
            "CATEGORIES:vip,client\\,old,中国",
            "UID:abc-123",
            "BDAY:19800102",
            "ADR;TYPE=work:;Suite 5;1 Main St;Springfield;IL;62701;USA",
            "ADR:;;Line one\\nLine two;;;;",
            "URL:https://acme.example",
            "NOTE:Met at the fair\\; liked the demo\\nCall in May",
            "NICKNAME:Al",
            "IMPP:xmpp:a@jabber.example",
            "X-CRM-SHOE-SIZE:44",
            "X-CRM-FAV-COLOR;X-CRM-KEY=fav.color:blue",
        )
    )
    assert values["company"] == ["Acme, Inc."]
    assert values["field.department"] == ["Sales"]
    assert values["title"] == ["Head of Sales"]
    assert values["field.role"] == ["Buyer"]
    assert values["tags"] == ["vip", "client,old", "中国"]
    assert values["external_id"] == ["abc-123"]
    assert values["field.birthday"] == ["1980-01-02"]
    assert values["field.address.work"] == ["Suite 5, 1 Main St, Springfield, IL, 62701, USA"]
    assert values["field.address"] == ["Line one, Line two"]
    assert values["field.url"] == ["https://acme.example"]
    assert values["field.note"] == ["Met at the fair; liked the demo\nCall in May"]
    assert values["field.nickname"] == ["Al"]
    assert values["field.im"] == ["xmpp:a@jabber.example"]
    assert values["field.shoe-size"] == ["44"]
    assert values["field.fav.color"] == ["blue"]


@pytest.mark.parametrize(
    ("bday", "iso"),
    [
        ("1980-01-02", "1980-01-02"),
        ("19800102", "1980-01-02"),
        ("1980-01-02T00:00:00Z", "1980-01-02"),
        ("--0102", "--01-02"),
        ("--01-02", "--01-02"),
        ("circa 1800", "circa 1800"),
    ],
)
def test_birthdays_as_iso_dates(bday: str, iso: str) -> None:
    assert read_one(card("FN:A", f"BDAY:{bday}"))["field.birthday"] == [iso]


JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(range(60))).decode()


def test_photos_inline_and_by_url_or_left_out() -> None:
    v21 = card(
        "FN:A", f"PHOTO;ENCODING=BASE64;TYPE=JPEG:{JPEG[:40]}", f" {JPEG[40:]}", "", version="2.1"
    )
    v30 = card("FN:A", f"PHOTO;ENCODING=b:{JPEG}")  # no TYPE: told by its first bytes
    v40 = card("FN:A", "PHOTO:https://example.com/a.png", version="4.0")
    assert read_one(v21)["field.photo"] == [f"data:image/jpeg;base64,{JPEG}"]
    assert read_one(v30)["field.photo"] == [f"data:image/jpeg;base64,{JPEG}"]
    assert read_one(v40)["field.photo"] == ["https://example.com/a.png"]
    assert "field.photo" not in read_one(v21, photos=False)


def test_v21_base64_continued_without_indent() -> None:
    data = card(
        "FN:A",
        f"PHOTO;ENCODING=BASE64;TYPE=JPEG:{JPEG[:30]}",
        JPEG[30:],
        "",
        "TEL:1",
        version="2.1",
    )
    values = read_one(data)
    assert values["field.photo"] == [f"data:image/jpeg;base64,{JPEG}"]
    assert values["phone"] == ["1"]


# --- writing ----------------------------------------------------------------------------------

ANA: dict[str, Any] = {
    "id": 42,
    "name": "Ana Souza",
    "given_name": "Ana",
    "family_name": "Souza",
    "emails": ["ana@acme.example", {"email": "ana@home.example", "label": "home"}],
    "phones": [{"phone": "+5511999990000", "label": "mobile"}, "+5511333330000"],
    "company": "Acme",
    "title": "CTO",
    "tags": ["vip", "customer"],
    "custom": {"note": "Likes coffee", "birthday": "1985-03-04", "shoe_size": 38},
}


def test_writes_crlf_lines_a_stable_uid_and_every_field() -> None:
    text = write_vcard(ANA)
    assert text.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert text.endswith("END:VCARD\r\n")
    assert "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert "FN:Ana Souza" in lines
    assert "N:Souza;Ana;;;" in lines
    assert "EMAIL;TYPE=home:ana@home.example" in lines
    assert "TEL;TYPE=cell:+5511999990000" in lines
    assert "CATEGORIES:vip,customer" in lines
    assert "BDAY:19850304" in lines
    assert "X-CRM-SHOE-SIZE;X-CRM-KEY=shoe_size:38" in lines
    # The UID comes from the record id alone: the same on every export, nothing about the host.
    assert write_vcard(ANA) == text
    assert contact_uid(ANA) != contact_uid({**ANA, "id": 43})
    assert f"UID;X-CRM-ID={ANA['id']}:{contact_uid(ANA)}" in lines
    assert contact_uid({**ANA, "external_id": "google-77"}) == "google-77"


def test_long_lines_fold_at_75_octets_without_cutting_a_character() -> None:
    note = "长" * 100 + "é" * 50 + "x" * 100
    text = write_vcard({**ANA, "custom": {"note": note}})
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    assert read_one(text.encode())["field.note"] == [note]


def test_v30_for_old_clients() -> None:
    text = write_vcard({**ANA, "custom": {"photo": f"data:image/jpeg;base64,{JPEG}"}}, "3.0")
    lines = text.split("\r\n")
    assert lines[1] == "VERSION:3.0"
    assert "EMAIL;TYPE=INTERNET:ana@acme.example" in lines
    assert "EMAIL;TYPE=INTERNET,home:ana@home.example" in lines
    assert any(line.startswith("PHOTO;ENCODING=b;TYPE=JPEG:") for line in lines)


def test_an_unknown_version_is_refused() -> None:
    with pytest.raises(InvalidValue) as failure:
        write_vcard(ANA, "2.1")
    assert "2.1" in str(failure.value)


def test_write_vcards_one_card_per_contact() -> None:
    cards = list(write_vcards([ANA, {**ANA, "id": 7, "name": "张伟"}], "3.0"))
    records = list(read_vcards("".join(cards).encode()))
    assert [r.first("name") for r in records] == ["Ana Souza", "张伟"]


def test_vobject_reads_what_we_write() -> None:
    import vobject  # type: ignore[import-untyped]

    contact = {**ANA, "company": "Acme; Ltd, 北京", "custom": {"note": "a\nb; c, d \\ e"}}
    for version in ("4.0", "3.0"):
        parsed = vobject.readOne(write_vcard(contact, version))
        assert parsed.fn.value == "Ana Souza"
        assert sorted(e.value for e in parsed.contents["email"]) == [
            "ana@acme.example",
            "ana@home.example",
        ]
        assert parsed.note.value == "a\nb; c, d \\ e"


# --- the round trip ---------------------------------------------------------------------------

ROUND_TRIP: list[dict[str, Any]] = [
    ANA,
    {"id": 1, "name": "张伟", "emails": ["zhang@example.cn"], "tags": ["中国"]},
    {
        "id": 2,
        "name": "山田 太郎",
        "given_name": "太郎",
        "family_name": "山田",
        "company": "株式会社テスト",
    },
    {"id": 3, "name": "김민준", "phones": [{"phone": "+82 10 1234 5678", "label": "私人 手机"}]},
    {"id": 4, "name": "Zoë 🎉 Party", "title": "Chief 🎈 Officer", "tags": ["🎉"]},
    {
        "id": 5,
        "name": "Doe, John; Jr.",
        "given_name": "John; Q",
        "family_name": "Doe, Sr",
        "company": "Acme, Inc.; Holdings",
        "title": "VP, Sales; EMEA",
        "custom": {"department": "Sales; North", "motto": "a,b;c\\d"},
    },
    {
        "id": 6,
        "name": "Back\\slash",
        "custom": {"note": "C:\\path\\to\\file\nsecond line\n\nfourth; with, marks\\n literal"},
    },
    {
        "id": 7,
        "name": "Long " + "Name " * 40,
        "custom": {"note": "长" * 200, "url": "https://example.com/" + "a" * 200},
    },
    {
        "id": 8,
        "name": "Labels",
        "emails": [
            {"email": "w@example.com", "label": "work"},
            {"email": "h@example.com", "label": "home"},
            {"email": "o@example.com", "label": "other"},
            {"email": "c@example.com", "label": "tennis club"},
            {"email": "p@example.com", "label": None},
        ],
        "phones": [
            {"phone": "+1 555 0001", "label": "mobile"},
            {"phone": "+1 555 0002", "label": "fax"},
            {"phone": "+1 555 0003", "label": "work"},
            {"phone": "+1 555 0004", "label": "cell"},
            {"phone": "+1 555 0005", "label": "pref"},
            {"phone": "+1 555 0006", "label": "pager"},
        ],
    },
    {
        "id": 9,
        "name": "Custom Fields",
        "custom": {
            "birthday": "1990-12-31",
            "address": "1 Main St, Springfield, IL 62701",
            "address:work": "Av. Paulista 1000; São Paulo",
            "nickname": "Cus",
            "role": "buyer",
            "im": "xmpp:c@example.org",
            "linkedin": "https://linkedin.example/in/c",
            "renewal.date": "2027-01-31",
            "Mixed_Case-Key": "value",
            "生日": "农历八月十五",
            "score": 12,
            "active": True,
            "photo": f"data:image/jpeg;base64,{JPEG}",
        },
    },
    {"id": 10, "name": "Odd birthdays", "custom": {"birthday": "--02-29"}},
    {"id": 11, "name": "Text birthday", "custom": {"birthday": "circa 1800"}},
    {"id": 15, "name": "Compact birthday", "custom": {"birthday": "19800102"}},
    {"id": 12, "name": "Photo URL", "custom": {"photo": "https://example.com/me.png"}},
    {"id": 13, "name": "External", "external_id": "google:c123"},
    {"id": 14, "name": "", "emails": ["noname@example.com"]},
]


@pytest.mark.parametrize("version", ["4.0", "3.0"])
@pytest.mark.parametrize("contact", ROUND_TRIP, ids=lambda c: f"contact{c['id']}")
def test_round_trip(contact: dict[str, Any], version: str) -> None:
    records = list(read_vcards(write_vcard(contact, version).encode()))
    assert len(records) == 1
    assert records[0].problem is None
    assert records[0].values == contact_values(contact)


def test_round_trip_values_are_what_the_contact_holds() -> None:
    values = contact_values(ROUND_TRIP[8])
    assert values["email:tennis club"] == ["c@example.com"]
    assert values["phone:cell"] == ["+1 555 0004"]  # not turned into "mobile"
    assert values["email"] == ["p@example.com"]
    values = contact_values(ROUND_TRIP[9])
    assert values["field.score"] == ["12"]
    assert values["field.active"] == ["true"]
    assert values["field.Mixed_Case-Key"] == ["value"]


def test_positions_are_the_file_lines_also_after_glued_cards() -> None:
    data = b"BEGIN:VCARD\r\nFN:One\r\nEND:VCARDBEGIN:VCARD\r\nFN:Two\r\n"
    records = list(read_vcards(data))
    assert records[0].first("name") == "One"
    assert records[1].problem is not None
    assert records[1].problem.startswith("card 2 (line 3)")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff\xfe\x80" * 50,
        b"BEGIN:VCARD\r\n\xff\xfe:\x00\r\n:::\r\n;;;\r\nEND:VCARD\r\n",
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;QUOTED-PRINTABLE:=ZZ=\r\n",
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nPHOTO;ENCODING=b:!!!notbase64\r\nFN:x\r\nEND:VCARD",
        b"END:VCARD\r\nBEGIN:VCARD\r\nBEGIN:VCARD\r\nEND:VCARD\r\n",
        b'BEGIN:VCARD\r\nFN;CHARSET="utf-8:x\r\nEND:VCARD\r\n',
    ],
)
def test_garbage_never_raises_and_every_card_is_accounted_for(garbage: bytes) -> None:
    records = list(read_vcards(garbage))
    assert len(records) == count_cards(garbage)
    assert all((r.problem is None) == bool(r.values) for r in records)
