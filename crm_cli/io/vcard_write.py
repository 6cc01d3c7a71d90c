"""Writing vCards: 4.0 (or 3.0) that `vcard_read` and vobject read back to the same values.

CRLF line endings, lines folded at 75 octets without cutting a UTF-8 sequence, text escaped
(backslash, newline, comma, semicolon). Labels of emails and phones go out as TYPE where a
reader gives the same label back, else as an Apple-style item group with X-ABLabel, which
Apple, Google and khard read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from crm_cli.errors import InvalidValue
from crm_cli.io.vcard_read import VERSIONS, as_tag, derived_uid, field_label, label_for

# --- writing ----------------------------------------------------------------------------------

# Custom fields that have a vCard property of their own; the rest go out as X-CRM-NAME.
_WRITTEN_AS = {"note": "NOTE", "url": "URL", "nickname": "NICKNAME", "role": "ROLE"}


def contact_uid(contact: dict[str, Any]) -> str:
    """The card's UID: the contact's external id when it has one (a card read from elsewhere
    keeps its UID), else one derived from the record id alone, the same on every export."""
    external = contact.get("external_id")
    if external:
        return str(external)
    return derived_uid(contact.get("id"))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value).replace("\r\n", "\n").replace("\r", "\n")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def _fold(line: str) -> str:
    """The line cut into pieces of at most 75 octets (continuations start with a space),
    never inside a UTF-8 sequence."""
    if len(line) <= 75 and line.isascii() or len(line.encode("utf-8")) <= 75:
        return line
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for ch in line:
        width = 1 if ch.isascii() else len(ch.encode("utf-8"))
        if size + width > 75:
            pieces.append("".join(current))
            current, size = [" "], 1
        current.append(ch)
        size += width
    pieces.append("".join(current))
    return "\r\n".join(pieces)


def _entries(items: Any, key: str) -> list[tuple[str, str | None]]:
    """(value, label) pairs from a record's emails or phones: plain strings, or objects with
    the value under `key` (or `value`) and an optional `label`."""
    result: list[tuple[str, str | None]] = []
    for item in items or []:
        if isinstance(item, dict):
            value = item.get(key) or item.get("value")
            label = item.get("label")
        else:
            value, label = item, None
        if value is not None and str(value).strip():
            result.append((str(value), str(label).strip().lower() if label else None))
    return result


class _Writer:
    def __init__(self, version: str) -> None:
        self.version = version
        self.lines = ["BEGIN:VCARD", f"VERSION:{version}"]
        self.groups = 0

    def add(self, name: str, value: str, params: str = "", group: str = "") -> None:
        prefix = f"{group}." if group else ""
        self.lines.append(_fold(f"{prefix}{name}{params}:{value}"))

    def labelled(self, name: str, kind: str, value: str, label: str | None, extra: str) -> None:
        """A property with its label as a TYPE where a reader gives that TYPE back as the
        same label, else as an Apple-style group label (item1.X-ABLabel), which keeps any."""
        if label is None:
            self.add(name, value, extra)
            return
        kind_type = {"mobile": "cell"}.get(label, label) if kind == "phone" else label
        plain = re.fullmatch(r"[a-z][a-z0-9-]*", kind_type) is not None
        if plain and label_for(kind, [kind_type]) == label:
            types = f"{extra.removeprefix(';TYPE=')},{kind_type}" if extra else kind_type
            self.add(name, value, f";TYPE={types}")
            return
        self.groups += 1
        group = f"item{self.groups}"
        self.add(name, value, extra, group)
        self.add("X-ABLabel", _escape(label), "", group)


def write_vcard(contact: dict[str, Any], version: str = "4.0") -> str:
    """One contact record (as `crm contact show --json` prints it) as a vCard, CRLF-ended.

    FN, N, EMAIL and TEL (labels as TYPE, or an item group's X-ABLabel when no TYPE says it),
    ORG, TITLE, CATEGORIES, UID; the custom fields note, birthday, anniversary,
    address[:LABEL], url, nickname, photo, role and department as NOTE, BDAY, ANNIVERSARY
    (X-ANNIVERSARY in 3.0), ADR, URL, NICKNAME, PHOTO, ROLE and ORG's second part; every other
    custom field as X-CRM-NAME, so nothing is lost.
    `version="3.0"` for old clients. Emails and phones may be plain strings (as the record
    prints them today) or objects with the value under `email`/`phone` and a `label`.
    """
    if version not in VERSIONS:
        raise InvalidValue("vcard-version", version, "use 4.0 or 3.0")
    out = _Writer(version)
    custom: dict[str, Any] = dict(contact.get("custom") or {})
    name = _text(contact.get("name"))
    out.add("FN", _escape(name))
    given, family = _text(contact.get("given_name")), _text(contact.get("family_name"))
    if given or family or version == "3.0":  # 3.0 requires N
        out.add("N", f"{_escape(family)};{_escape(given)};;;")
    for address, label in _entries(contact.get("emails"), "email"):
        out.labelled(
            "EMAIL", "email", _escape(address), label, "" if version == "4.0" else ";TYPE=INTERNET"
        )
    for number, label in _entries(contact.get("phones"), "phone"):
        out.labelled("TEL", "phone", _escape(number), label, "")
    company, department = _text(contact.get("company")), _text(custom.pop("department", None))
    if company or department:
        out.add("ORG", _escape(company) + (f";{_escape(department)}" if department else ""))
    if title := _text(contact.get("title")):
        out.add("TITLE", _escape(title))
    tags = [_text(t) for t in contact.get("tags") or [] if _text(t)]
    if tags:
        out.add("CATEGORIES", ",".join(_escape(t) for t in tags))
    if contact.get("external_id") or contact.get("id") is None:
        out.add("UID", _escape(contact_uid(contact)))
    else:  # X-CRM-ID tells crm's reader the UID is its own, not an id from elsewhere
        out.add("UID", _escape(contact_uid(contact)), f";X-CRM-ID={contact['id']}")
    for key, value in custom.items():
        for item in value if isinstance(value, list) and key in _LISTED else [value]:
            _custom(out, key, _text(item))
    out.lines.append("END:VCARD")
    return "\r\n".join(out.lines) + "\r\n"


# Custom fields whose list value means several properties (several URLs), not one JSON text.
_LISTED = {"url", "nickname", "note", "im"}


def _address_label(key: str) -> tuple[bool, str | None]:
    """Whether a custom field is an address (`address`, `address.home`; the older
    `address:home` too), and its label."""
    for separator in (".", ":"):
        base, sep, label = key.partition(separator)
        if base == "address":
            return True, (label or None) if sep else None
    return False, None


def _custom(out: _Writer, key: str, value: str) -> None:
    is_address, label = _address_label(key)
    if is_address:
        out.labelled("ADR", "address", f";;{_escape(value)};;;;", label, "")
    elif key in _WRITTEN_AS:
        out.add(_WRITTEN_AS[key], _escape(value))
    elif key == "birthday" and (bday := _bday(value, out.version)):
        out.add("BDAY", bday)
    elif key == "anniversary" and (day := _bday(value, out.version)):
        # 4.0 has ANNIVERSARY; 3.0 has none, and X-ANNIVERSARY is the name its writers use.
        out.add("ANNIVERSARY" if out.version == "4.0" else "X-ANNIVERSARY", day)
    elif key == "photo" and value:
        _write_photo(out, value)
    else:
        name = re.sub(r"[^A-Z0-9-]", "-", key.upper())
        exact = name.lower() == key  # else the key rides along as a parameter
        params = (
            ""
            if exact
            else f';X-CRM-KEY="{key}"'
            if re.search(r"[,;:]", key)
            else f";X-CRM-KEY={key}"
        )
        out.add(f"X-CRM-{name}", _escape(value), params)


def _bday(value: str, version: str) -> str | None:
    """BDAY's value for an ISO date (or --MM-DD), else None: the text goes out as X-CRM-BIRTHDAY."""
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value):
        return f"{m[1]}{m[2]}{m[3]}" if version == "4.0" else value
    if m := re.fullmatch(r"--(\d{2})-(\d{2})", value):
        return f"--{m[1]}{m[2]}" if version == "4.0" else value
    return None


def _write_photo(out: _Writer, value: str) -> None:
    if out.version == "4.0":
        out.add("PHOTO", value)
        return
    if m := re.fullmatch(r"data:image/([A-Za-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)", value):
        out.add("PHOTO", "".join(m[2].split()), f";ENCODING=b;TYPE={m[1].upper()}")
    else:
        out.add("PHOTO", value, ";VALUE=uri")


def write_vcards(contacts: Iterable[dict[str, Any]], version: str = "4.0") -> Iterator[str]:
    """Each contact as a vCard, one string per card (a file is their concatenation)."""
    if version not in VERSIONS:
        raise InvalidValue("vcard-version", version, "use 4.0 or 3.0")
    for contact in contacts:
        yield write_vcard(contact, version)


def contact_values(contact: dict[str, Any]) -> dict[str, list[str]]:
    """The values `read_vcards` gives for `write_vcard(contact)`: a contact record in the
    reader's field names (what a round trip must keep; what an import compares against)."""
    values: dict[str, list[str]] = {}

    def put(key: str, value: str) -> None:
        if value.strip():
            values.setdefault(key, []).append(value)

    for key in ("name", "given_name", "family_name"):
        put(key, _text(contact.get(key)).strip())
    for address, label in _entries(contact.get("emails"), "email"):
        put(f"email:{label}" if label else "email", address.strip())
    for number, label in _entries(contact.get("phones"), "phone"):
        put(f"phone:{label}" if label else "phone", number.strip())
    custom = dict(contact.get("custom") or {})
    put("company", _text(contact.get("company")).strip())
    put("title", _text(contact.get("title")).strip())
    for tag in contact.get("tags") or []:
        put("tags", as_tag(_text(tag)))
    if contact.get("external_id") or contact.get("id") is None:
        put("external_id", contact_uid(contact))
    for key, value in custom.items():
        for item in value if isinstance(value, list) and key in _LISTED else [value]:
            text = _text(item)
            is_address, label = _address_label(key)
            if is_address:
                text = ", ".join(s.strip() for s in text.splitlines() if s.strip())
                key = f"address.{field_label(label.lower())}" if label else "address"
            put(f"field.{key}", text.strip() if key == "department" else text)
    return values
