"""Reading .vcf files: the three steps `crm_cli.io.vcard` describes, and the field mapping.

Kept apart from the writer so each stays small enough to read in one go; callers import both
from `crm_cli.io.vcard`.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from crm_cli.errors import InvalidValue
from crm_cli.io.csvfile import cjk_plausible
from crm_cli.io.records import SourceRecord

VERSIONS = ("4.0", "3.0")

# --- splitting a file into cards -------------------------------------------------------------

_BEGIN = re.compile(rb"^[ \t]*BEGIN[ \t]*:[ \t]*VCARD[ \t]*$", re.IGNORECASE)
_END = re.compile(rb"^[ \t]*END[ \t]*:[ \t]*VCARD[ \t]*$", re.IGNORECASE)
# "END:VCARDBEGIN:VCARD": two cards glued on one line by a careless exporter.
_GLUED = re.compile(rb"^([ \t]*END[ \t]*:[ \t]*VCARD)[ \t]*(?=BEGIN[ \t]*:)", re.IGNORECASE)


@dataclass
class _Card:
    number: int
    start: int  # line number of its BEGIN:VCARD
    raw: list[bytes] = field(default_factory=list)  # every line, BEGIN to END, nested ones too
    body: list[tuple[int, bytes]] = field(default_factory=list)  # its own lines, numbered
    nested: int = 0
    closed: bool = False


def _as_bytes(data: bytes) -> bytes:
    """The file as ASCII-compatible bytes: UTF-16/32 (with a BOM, or UTF-16 without one,
    recognised by its zero bytes) re-encoded as UTF-8; a UTF-8 BOM dropped."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            if codec == "utf-8-sig":
                return data[len(bom) :]
            return data.decode(codec, errors="replace").encode("utf-8")
    head = data[:64]
    if len(head) >= 4 and head.count(0) * 3 >= len(head):
        codec = "utf-16-be" if head[0] == 0 else "utf-16-le"
        return data.decode(codec, errors="replace").encode("utf-8")
    return data


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The file's lines with their numbers; a glued "END:VCARDBEGIN:VCARD" line is two lines
    with the same number, so positions in reports are the file's own."""
    for n, line in enumerate(data.splitlines(), 1):
        glued = _GLUED.match(line)
        while glued:
            yield n, glued.group(1)
            line = line[glued.end() :]
            glued = _GLUED.match(line)
        yield n, line


def _split_cards(data: bytes) -> Iterator[_Card]:
    card: _Card | None = None
    depth = 0
    count = 0
    for n, line in _lines(data):
        if card is None:
            if _BEGIN.match(line):
                count += 1
                card = _Card(count, n, [line])
                depth = 1
            continue  # text between cards is not part of any card
        card.raw.append(line)
        if _BEGIN.match(line):
            depth += 1
            card.nested += depth == 2
        elif _END.match(line):
            depth -= 1
            if depth == 0:
                card.closed = True
                yield card
                card = None
        elif depth == 1:
            card.body.append((n, line))
    if card is not None:
        yield card


def is_vcard(data: bytes) -> bool:
    """Whether `data` is a vCard file (its first line BEGIN:VCARD, in any of the encodings
    `read_vcards` reads): how a file with no .vcf name, such as stdin, is recognised."""
    for line in _as_bytes(data[:4096]).splitlines():
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue  # blank, or a comment (crm's rejects file names each card's error so)
        return bool(_BEGIN.match(line))
    return False


def count_cards(data: bytes) -> int:
    """How many cards `read_vcards` will return for `data` (for progress reporting)."""
    return sum(1 for _ in _split_cards(_as_bytes(data)))


# --- decoding ---------------------------------------------------------------------------------

# Names exporters write for a charset, mapped to the codec that decodes what they meant: the
# Windows supersets of what the label says (phones write SHIFT_JIS and mean cp932).
_CHARSET_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "cp950",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
}
_CJK_CODECS = {"cp932", "shift_jis", "gb18030", "gbk", "gb2312", "cp950", "big5", "euc_jp"}
_CJK_CODECS |= {"cp949", "euc_kr", "big5hkscs", "johab"}


def _codec(charset: str | None) -> str | None:
    """The Python codec for a CHARSET parameter, or None when it names nothing we know."""
    if not charset:
        return None
    name = charset.strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _legacy_encoding(data: bytes) -> str:
    """The encoding to try for bytes that are not UTF-8 and declare no charset."""
    for match in re.finditer(rb"CHARSET=\"?([A-Za-z0-9_.:\-]+)", data, re.IGNORECASE):
        codec = _codec(match.group(1).decode("ascii"))
        if codec and codec not in ("utf-8", "utf-16", "utf-32"):
            return codec
    odd = [line for line in data.splitlines() if not line.isascii() and not _is_utf8(line)]
    if not odd:
        return "cp1252"
    # A detector is only a hint (it misreads Windows-1252 names): trusted for CJK encodings,
    # whose byte pairs it tells apart well, never to overrule Windows-1252 for the rest.
    from charset_normalizer import from_bytes  # deferred: only files with such bytes pay

    # Single-byte code pages cannot be told apart on a few names (a Hebrew name in cp1255
    # reads as Cyrillic to the detector): they get Windows-1252, or the caller's `encoding`.
    sample = b"\n".join(odd)[:20000]
    best = from_bytes(sample).best()
    codec = _codec(best.encoding) if best is not None else None
    if codec not in _CJK_CODECS:
        return "cp1252"
    # A short Windows-1252 card reads as Korean or Chinese to the detector (Gößl as G套l):
    # its guess stands only when the text then reads as CJK.
    text = sample.decode(codec, errors="replace")
    return codec if cjk_plausible(text, _cjk_char) else "cp1252"


def _cjk_char(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(_CJK_NAMES)


_CJK_NAMES = ("CJK", "HANGUL", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "FULLWIDTH", "HALFWIDTH")


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(raw: bytes, charset: str | None, fallbacks: tuple[str, ...]) -> str:
    """`raw` as text: its declared charset, else the fallbacks in order (strictly each), else
    Windows-1252 with replacement characters (never an exception)."""
    for codec in (_codec(charset), *fallbacks):
        if codec:
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                continue
    return raw.decode("cp1252", errors="replace")


# --- content lines ----------------------------------------------------------------------------


class _Unreadable(Exception):
    pass


@dataclass
class _Prop:
    name: str
    group: str | None
    params: dict[str, list[str]]
    types: list[str]  # TYPE values and bare 2.1 parameters, lowercased
    value: str  # decoded (charset, quoted-printable), still escaped


def _is_qp(line: bytes) -> bool:
    colon = line.find(b":")
    return colon > 0 and b"QUOTED-PRINTABLE" in line[:colon].upper()


def _is_base64(line: bytes) -> bool:
    colon = line.find(b":")
    header = line[:colon].upper() if colon > 0 else b""
    return b"BASE64" in header or b"ENCODING=B" in header


_BARE_NAME = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*[ \t]*$")


def _logical_lines(body: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    lines: list[tuple[int, bytes]] = []
    soft_break = False
    for n, raw in body:
        if soft_break:  # quoted-printable: "=" at the end joins the next line
            start, previous = lines[-1]
            lines[-1] = (start, previous.rstrip()[:-1] + raw)
        elif not raw.strip():
            continue
        elif raw[:1] in (b" ", b"\t") and lines:
            start, previous = lines[-1]
            lines[-1] = (start, previous + raw[1:])
        elif raw.startswith(b"#"):  # comment lines some phones write
            continue
        elif _colon(raw) < 0 and lines and _is_base64(lines[-1][1]):
            # 2.1 writers continue base64 without indenting it, up to a blank line.
            start, previous = lines[-1]
            lines[-1] = (start, previous + raw.strip())
        elif _colon(raw) < 0 and lines and lines[-1][1].endswith(b"\\"):
            # Some 2.1 writers end a line with "\" to go on with an address on the next.
            start, previous = lines[-1]
            lines[-1] = (start, previous[:-1] + b"\n" + raw)
        elif _colon(raw) < 0 and _BARE_NAME.match(raw):
            continue  # a property name with no value at all ("FN"): nothing to read
        else:
            lines.append((n, raw))
        last = lines[-1][1] if lines else b""
        soft_break = _is_qp(last) and last.rstrip().endswith(b"=")
    return lines


_USED = {b"VERSION", b"FN", b"N", b"EMAIL", b"TEL", b"ORG", b"TITLE", b"UID", b"CATEGORIES"}
_USED |= {b"ADR", b"BDAY", b"URL", b"NOTE", b"NICKNAME", b"ROLE", b"PHOTO", b"X-ABLABEL"}
_IM = {"IMPP", "X-AIM", "X-JABBER", "X-GOOGLE-TALK", "X-SKYPE", "X-SKYPE-USERNAME", "X-MSN"}
_IM |= {"X-YAHOO", "X-ICQ", "X-QQ", "X-GADUGADU", "X-TWITTER"}
_USED |= {name.encode() for name in _IM}
# 4.0's ANNIVERSARY and the X-names 3.0 writers used for it (Apple, Evolution, KDE, Outlook).
_ANNIVERSARY = {"ANNIVERSARY", "X-ANNIVERSARY", "X-EVOLUTION-ANNIVERSARY", "X-MS-ANNIVERSARY"}
_ANNIVERSARY |= {"X-KADDRESSBOOK-X-ANNIVERSARY"}
_USED |= {name.encode() for name in _ANNIVERSARY}
_PROPERTY_NAME = re.compile(rb"^[ \t]*(?:[^.;:]*\.)?([^;:]*)")


def _wanted(raw: bytes) -> bool:
    """Whether the line is a property this codec keeps: a line nobody reads (an exporter's
    own X-property with a name vCard does not allow) cannot spoil the card."""
    match = _PROPERTY_NAME.match(raw)
    name = match.group(1).strip().upper() if match else b""
    return name in _USED or name.startswith(b"X-CRM-") or _colon(raw) < 0


def _colon(raw: bytes) -> int:
    """Where the value starts: the first ':' outside a quoted parameter value."""
    first = raw.find(b":")
    if first < 0 or b'"' not in raw[:first]:
        return first
    quoted = False
    for i, byte in enumerate(raw):
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x3A and not quoted:
            return i
    return -1


_ENCODINGS = {"quoted-printable", "base64", "b", "8bit", "7bit"}


_EMPTY_PARAMETER = re.compile(r";+(?=;|$)")
_SIMPLE_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


def _property(n: int, raw: bytes, legacy: tuple[str, ...]) -> _Prop:
    # Deferred: vobject costs ~40 ms, paid only when a file is read. It ships no type hints.
    from vobject.base import ParseError, parseLine  # type: ignore[import-untyped]

    colon = _colon(raw)
    if colon <= 0:
        raise _Unreadable(f"line {n} is not a property (no ':'): {_clip(raw)}")
    header = _decode(raw[:colon], None, legacy).strip()
    if ";" in header:  # "ADR;HOME;PREF;:" has an empty parameter
        header = _EMPTY_PARAMETER.sub("", header)
    try:
        if _SIMPLE_HEADER.match(header):  # "FN", "TEL": nothing for the grammar to do
            name, plist, group = header, [], None
        else:
            name, plist, _, group = parseLine(header + ":")
    except ParseError:
        reason = f"line {n} has a property name vCard cannot read: {_clip(raw)}"
        raise _Unreadable(reason) from None
    params: dict[str, list[str]] = {}
    types: list[str] = []
    for item in plist:
        if len(item) == 1:
            types.append(item[0].lower())
        else:
            params.setdefault(item[0].upper(), []).extend(item[1:])
    for listed in params.get("TYPE", []):
        types.extend(t.strip().lower() for t in listed.split(",") if t.strip())
    encodings = {e.lower() for e in params.get("ENCODING", [])} | (set(types) & _ENCODINGS)
    value = raw[colon + 1 :]
    if "quoted-printable" in encodings:
        value = quopri.decodestring(value)
    charset = params["CHARSET"][0] if params.get("CHARSET") else None
    text = _decode(value, charset, legacy)
    if "quoted-printable" in encodings:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if encodings & {"b", "base64"}:
        text = "".join(text.split())
        params["ENCODING"] = ["b"]
    types = [t for t in types if t not in _ENCODINGS]
    return _Prop(name.upper(), group, params, types, text)


def _clip(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    return repr(text if len(text) <= 40 else text[:40] + "…")


# --- values -----------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "N": "\n", "\\": "\\", ",": ",", ";": ";", ":": ":"}


def _unescape(text: str, version: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1 : i + 2]
        if ch == "\\" and nxt:
            if version == "2.1" and nxt not in ";\\":
                out.append(ch)  # 2.1 escapes only the separator: a Windows path stays whole
            else:
                out.append(_ESCAPES.get(nxt, "\\" + nxt))
                i += 1
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _split(text: str, separators: str) -> list[str]:
    """`text` cut at the separators that are not escaped; escapes are left for `_unescape`."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _is_cjk(text: str) -> bool:
    return any(
        "CJK" in unicodedata.name(ch, "")
        or "HANGUL" in unicodedata.name(ch, "")
        or "HIRAGANA" in unicodedata.name(ch, "")
        or "KATAKANA" in unicodedata.name(ch, "")
        for ch in text
        if not ch.isascii()
    )


def _name_from_n(family: str, given: str, middle: str, prefix: str, suffix: str) -> str:
    if _is_cjk(family + given):  # family name first, no space: 张伟, 山田太郎
        return family + given
    return " ".join(p for p in (prefix, given, middle, family, suffix) if p)


def _clean_label(text: str) -> str:
    text = text.strip()
    if text.startswith("_$!<") and text.endswith(">!$_"):  # Apple's built-in labels
        text = text[4:-4]
    return text.strip().lower()


def as_tag(text: str) -> str:
    """A category as a tag crm accepts: each run of spaces or other characters a tag cannot
    hold becomes one "-" ("My Contacts" is `my-contacts`), starting with a letter or digit;
    a "," or ";" is left for the import, which splits tags there."""
    parts = re.split(r"([,;])", unicodedata.normalize("NFC", text))
    return "".join(part if part in ",;" else _one_tag(part) for part in parts)


def _one_tag(text: str) -> str:
    out: list[str] = []
    for ch in text.strip():
        if unicodedata.category(ch)[0] in "LNM" or ch in "-_.:/&+":
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    tag = "".join(out).lower().rstrip("-")
    while tag and unicodedata.category(tag[0])[0] not in "LN":
        tag = tag[1:]
    return tag[:64]


_NOT_IN_FIELD = re.compile(r"[^\w\-.]+")


def field_label(label: str) -> str:
    """A label as the end of a custom field's name (`address.home`, `address.tennis-club`):
    the characters a field name cannot hold become "-"."""
    return _NOT_IN_FIELD.sub("-", label.strip()).strip("-.") or "other"


UID_NAMESPACE = uuid.UUID("6f1c3c1e-5d8a-4d0e-9a43-2b8f5c0e7a11")  # crm's own, fixed forever


def derived_uid(record_id: object) -> str:
    """The UID crm gives a contact with no external id: derived from its record id alone."""
    return f"urn:uuid:{uuid.uuid5(UID_NAMESPACE, f'contact/{record_id}')}"


def is_derived_uid(uid: str, record_id: str) -> bool:
    """Whether `uid` is the one crm derived for record `record_id` (the card's X-CRM-ID): it
    names no record elsewhere, so it is no external id (importing crm's own export must not
    give its contacts one)."""
    return bool(record_id.strip()) and uid == derived_uid(record_id.strip())


# TYPE values that say nothing about which address or number it is.
_NOT_LABELS = {"pref", "internet", "x400", "voice", "text", "msg", "uri", "iana-token"}
_TEL_LABELS = {"cell": "mobile", "mobile": "mobile", "fax": "fax", "pager": "pager"}


# Address TYPEs about delivery, not whose address it is: "work" wins over "parcel".
_POSTAL = {"postal", "parcel", "dom", "intl"}


def label_for(kind: str, types: list[str]) -> str | None:
    """The label a property's TYPEs give it (lowercase), or None: CELL is "mobile"; FAX and
    PAGER win over WORK or HOME on a phone; a phone's VOICE or an email's INTERNET say nothing."""
    useful = [t for t in types if t not in _NOT_LABELS and not t.startswith("pref=")]
    useful = [t for t in useful if t not in (kind, "tel", "adr")]  # EMAIL;TYPE=EMAIL says nothing
    if kind == "address" and any(t not in _POSTAL for t in useful):
        useful = [t for t in useful if t not in _POSTAL]
    if kind == "phone":
        for t in useful:
            if t in _TEL_LABELS:
                return _TEL_LABELS[t]
    return useful[0] if useful else None


_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:$|T)")
_NO_YEAR = re.compile(r"^--(\d{2})-?(\d{2})$")


def _iso_birthday(text: str) -> str:
    text = text.strip()
    if m := _DATE.match(text):
        return f"{m[1]}-{m[2]}-{m[3]}"
    if m := _NO_YEAR.match(text):
        return f"--{m[1]}-{m[2]}"
    return text


_IMAGE_TYPES = {"jpeg", "jpg", "png", "gif", "bmp", "tiff", "webp", "heic", "svg+xml"}
_MEDIA = {b"\xff\xd8": "image/jpeg", b"\x89P": "image/png", b"GI": "image/gif"}


def _photo(prop: _Prop, version: str) -> str | None:
    value = prop.value.strip()
    if not value:
        return None
    if prop.params.get("ENCODING") == ["b"]:
        # TYPE names the format (JPEG, image/png); Evolution also writes TYPE=WORK there.
        kind = next((t for t in prop.types if t in _IMAGE_TYPES or t.startswith("image/")), "")
        if kind.startswith("image/"):
            media = kind
        elif kind:
            media = "image/" + {"jpg": "jpeg"}.get(kind, kind)
        else:
            try:
                head = base64.b64decode(value[:8] + "=" * (-len(value[:8]) % 4))[:2]
            except (binascii.Error, ValueError):
                head = b""
            media = _MEDIA.get(head, "application/octet-stream")
        return f"data:{media};base64,{value}"
    return value  # 4.0 writes a URI (data: or http:), 2.1/3.0 a URL with VALUE=uri


def _values(props: list[_Prop], version: str, photos: bool) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}

    def put(key: str, value: str) -> None:
        if value.strip():
            values.setdefault(key, []).append(value)

    def keyed(base: str, label: str | None) -> str:
        return f"{base}:{label}" if label else base

    labels = {
        p.group.lower(): _clean_label(p.value) for p in props if p.name == "X-ABLABEL" and p.group
    }
    name: str | None = None
    n_parts: list[str] | None = None
    ranked: list[tuple[int, str, str]] = []  # emails and phones: the preferred go first
    for prop in props:
        text = prop.value
        tag = labels.get(prop.group.lower()) if prop.group else None
        if prop.name == "FN" and name is None:
            name = _unescape(text, version).strip()
        elif prop.name == "N" and n_parts is None:
            n_parts = [_n_part(p, version) for p in _split(text, ";")]
        elif prop.name == "EMAIL":
            address = _unescape(text, version).strip()
            if address.lower().startswith("mailto:"):
                address = address[7:]
            ranked.append(
                (_pref(prop), keyed("email", tag or label_for("email", prop.types)), address)
            )
        elif prop.name == "TEL":
            number = _unescape(text, version).strip()
            if number.lower().startswith("tel:"):
                number = number[4:]
            ranked.append(
                (_pref(prop), keyed("phone", tag or label_for("phone", prop.types)), number)
            )
        elif prop.name == "ORG":
            parts = [_unescape(p, version).strip() for p in _split(text, ";")]
            put("company", parts[0])
            if any(parts[1:]):
                put("field.department", "; ".join(p for p in parts[1:] if p))
        elif prop.name == "TITLE":
            put("title", _unescape(text, version).strip())
        elif prop.name == "UID":
            uid = _unescape(text, version).strip()
            if not is_derived_uid(uid, (prop.params.get("X-CRM-ID") or [""])[0]):
                put("external_id", uid)
        elif prop.name == "CATEGORIES":
            for tag_text in _split(text, ",;" if version == "2.1" else ","):
                put("tags", as_tag(_unescape(tag_text, version)))
        elif prop.name == "ADR":
            parts = [_unescape(p, version).strip() for p in _split(text, ";")]
            line = ", ".join(p for p in parts if p)
            line = ", ".join(s.strip() for s in line.splitlines() if s.strip())
            label = tag or label_for("address", prop.types)
            put(f"field.address.{field_label(label)}" if label else "field.address", line)
        elif prop.name == "BDAY":
            put("field.birthday", _iso_birthday(_unescape(text, version)))
        elif prop.name in _ANNIVERSARY and "field.anniversary" not in values:
            put("field.anniversary", _iso_birthday(_unescape(text, version)))
        elif prop.name in _SIMPLE:
            put(_SIMPLE[prop.name], _unescape(text, version))
        elif prop.name in _IM:
            put(
                f"field.im.{field_label(tag)}" if tag else "field.im",
                _unescape(text, version).strip(),
            )
        elif prop.name == "PHOTO" and photos:
            put("field.photo", _photo(prop, version) or "")
        elif prop.name.startswith("X-CRM-") and len(prop.name) > 6:
            key = (prop.params.get("X-CRM-KEY") or [prop.name[6:].lower()])[0]
            put("field." + key, _unescape(text, version))
    for _, key, value in sorted(ranked, key=lambda item: item[0]):  # stable: file order next
        put(key, value)
    parts = (n_parts or []) + [""] * 5
    family, given = parts[0], parts[1]
    if not name:
        name = _name_from_n(family, given, parts[2], parts[3], parts[4])
    if not name and values.get("company"):
        # A company's own card (no FN, or an empty one): RFC 6350 names it by its ORG.
        name = values["company"][0]
    result: dict[str, list[str]] = {}
    if name:
        result["name"] = [name]
    if given:
        result["given_name"] = [given]
    if family:
        result["family_name"] = [family]
    result.update(values)
    return result


def _n_part(text: str, version: str) -> str:
    """One part of N: in 3.0 and 4.0 a comma separates several values (`John,Jim` given
    names), which a name shows with spaces; `\\,` is a comma of the name itself."""
    if version == "2.1":
        return _unescape(text, version).strip()
    values = (_unescape(v, version).strip() for v in _split(text, ","))
    return " ".join(v for v in values if v)


def _pref(prop: _Prop) -> int:
    """How preferred an EMAIL or TEL is, lowest first: 4.0's PREF=1..100, 3.0's TYPE=PREF and
    2.1's bare PREF as 1, none as 101 (RFC 6350: 1 is the most preferred)."""
    for value in prop.params.get("PREF", []):
        if value.strip().isdigit():
            return min(max(int(value), 1), 100)
    return 1 if "pref" in prop.types else 101


_SIMPLE = {"URL": "field.url", "NOTE": "field.note", "NICKNAME": "field.nickname"}
_SIMPLE |= {"ROLE": "field.role"}


# --- reading ----------------------------------------------------------------------------------


def read_vcards(
    data: bytes, *, photos: bool = True, encoding: str | None = None
) -> Iterator[SourceRecord]:
    """One `SourceRecord` per card of a .vcf file, in file order; never raises for a bad card.

    A card that cannot be read comes back with its `problem` (and no values); `number` is the
    card's position in the file (1-based) and `original` its lines as the file has them.
    `photos=False` leaves PHOTO out (it can be most of a file's size). `encoding` is the one to
    read bytes that declare no CHARSET with (`--encoding`); by default strict UTF-8, then the
    file's likely legacy encoding.
    """
    data = _as_bytes(data)
    legacy: tuple[str, ...] = ()
    if encoding:
        forced = _codec(encoding)
        if forced is None:
            raise InvalidValue("encoding", encoding, "is not an encoding Python knows")
        legacy = (forced, "utf-8")
    for card in _split_cards(data):
        if not legacy:
            legacy = ("utf-8", _legacy_encoding(data))
        original = [_decode(line, None, legacy) for line in card.raw]
        where = f"card {card.number} (line {card.start})"
        record = SourceRecord(card.number, original=original)
        if not card.closed:
            record.problem = f"{where} never ends: END:VCARD is missing"
            yield record
            continue
        try:
            lines = _logical_lines(card.body)
            props = [_property(n, raw, legacy) for n, raw in lines if _wanted(raw)]
            version = next((p.value.strip() for p in props if p.name == "VERSION"), "3.0")
            record.values = _values(props, version, photos)
            record.record_id = next(
                (
                    p.params["X-CRM-ID"][0]
                    for p in props
                    if p.name == "UID" and p.params.get("X-CRM-ID")
                ),
                None,
            )
        except _Unreadable as exc:
            record.problem = f"{where}: {exc}"
        except Exception as exc:  # noqa: BLE001 - one odd card must not stop the file
            record.problem = f"{where} cannot be read: {' '.join(str(exc).split())[:200]}"
        if record.problem is None and not record.values:
            record.problem = f"{where} holds nothing crm keeps: no name, email, phone or field"
        yield record
