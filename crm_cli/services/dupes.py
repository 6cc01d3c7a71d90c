"""Likely duplicates among contacts and companies, each pair with a score that explains itself.

Candidates come only from blocking keys: two records are compared when they share one of
them (a normalised email, the last digits of a phone, a domain, the name's words in any
order, the name with one letter of one word deleted, a word of the name at the same company
or in the same city). Comparing every pair would be 5 billion comparisons at 100,000
contacts; the keys give a few per record. A key shared by more than `BLOCK_LIMIT` records (a
switchboard number, "info@" at a big company, a very common name) says little about any one
pair and would cost a quadratic block: such keys are skipped and counted, never silently.

Each pair then gets reasons, each with a fixed weight (`WEIGHTS`, `COMPANY_WEIGHTS`); the
score is their sum, capped at 100. So a score of 85 reads "same phone 45 + same name 40",
and `--min-score` is a threshold a person can reason about. Names are compared with rapidfuzz
(token_sort_ratio on case- and accent-folded names, so "Weber, Jonas" is "Jonas Weber").

City: contacts have no address, so a contact's city is its custom field `city` (any case of
the key); a company's is its `city` custom field, else its address as a whole.

Pairs someone marked "keep separate" (`crm dupes ignore A B`) are left out; they live in
`dupe_ignore`, written through the ORM so the journal records them and `crm undo` takes one
back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain.text import fold
from crm_cli.errors import Conflict, InvalidValue, NotFound
from crm_cli.services import common
from crm_cli.store.models import Company, Contact, ContactEmail, ContactPhone, DupeIgnore

if TYPE_CHECKING:
    from crm_cli.services.context import Context

KINDS = ("contacts", "companies")
# A blocking key shared by more records than this is skipped (see the module docstring).
BLOCK_LIMIT = 50
# How alike two folded names must be (rapidfuzz token_sort_ratio, 0..100) to count as similar.
SIMILAR_NAME = 85
# Digits of a phone number compared: the subscriber part, whatever the prefix was written as.
PHONE_TAIL = 8
DEFAULT_MIN_SCORE = 50

WEIGHTS: dict[str, int] = {
    "same email": 60,
    "same phone": 45,
    "same domain": 50,
    "same name": 40,
    "similar name": 25,
    "same company": 25,
    "same city": 20,
    "same address": 20,
}
# Two companies of one name (legal forms aside) are rarer than two people of one name.
COMPANY_WEIGHTS = {**WEIGHTS, "same name": 50, "similar name": 30}

# Words that are not part of who someone is: titles before a name, legal forms after a company.
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "herr", "frau", "mme"})
_LEGAL_FORMS = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "co",
        "corp",
        "corporation",
        "company",
        "gmbh",
        "ag",
        "kg",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "plc",
        "oy",
        "ab",
        "as",
        "kk",
        "pty",
        "ltda",
    }
)
_CITY = re.compile(r'"city"\s*:\s*"([^"\\]*)"', re.IGNORECASE)
_NON_DIGIT = re.compile(r"[^0-9]+")
_WORD = re.compile(r"\w+", re.UNICODE)


def name_words(name: str | None, drop: frozenset[str] = _HONORIFICS) -> list[str]:
    """A name's words, folded (case, accents), without titles or legal forms."""
    if not name:
        return []
    text = name.lower() if name.isascii() else fold(name)
    words = _WORD.findall(text)
    return words if drop.isdisjoint(words) else [w for w in words if w not in drop]


def email_key(email: str) -> str:
    """An address as a person means it: case folded, `+tag` dropped from the local part."""
    text = email.strip().lower()
    if "+" not in text:
        return text
    local, _, domain = text.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def phone_key(phone: str) -> str | None:
    if len(phone) > PHONE_TAIL and phone[0] == "+" and phone[1:].isdigit():  # E.164, as stored
        return phone[-PHONE_TAIL:]
    digits = _NON_DIGIT.sub("", phone)
    if len(digits) < 6:
        return None
    return digits[-PHONE_TAIL:]


def domain_key(value: str | None) -> str | None:
    if not value:
        return None
    domain = value.strip().lower().removeprefix("https://").removeprefix("http://")
    domain = domain.removeprefix("www.").split("/", 1)[0]
    return domain or None


@dataclass(slots=True)
class Item:
    """One record as the matcher sees it."""

    id: int
    name: str
    words: list[str]
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    company_id: int | None = None
    company: str | None = None
    city: str | None = None
    domain: str | None = None
    address: str | None = None
    # Set by `prepare` once the lists are read: what blocking and scoring compare.
    name_key: str = ""
    email_keys: frozenset[str] = frozenset()
    phone_keys: frozenset[str] = frozenset()

    def prepare(self) -> None:
        if self.emails:
            self.email_keys = frozenset(map(email_key, self.emails))
        if self.phones:
            self.phone_keys = frozenset(filter(None, map(phone_key, self.phones)))


@dataclass
class DupeReport:
    kind: str
    pairs: list[dict[str, Any]]
    candidates: int  # pairs compared
    records: int  # records read
    skipped_keys: int  # blocking keys shared by too many records


def _city(custom: dict[str, Any] | str | None) -> str | None:
    if isinstance(custom, str):  # the stored JSON, read as text: decoded only if it may hold one
        if "city" not in custom.lower():
            return None
        plain = _CITY.search(custom)
        if plain is not None:  # no escapes in it: no need to decode the whole document
            return " ".join(name_words(plain.group(1))) or None
        custom = json.loads(custom)
    if not isinstance(custom, dict):
        return None
    for key, value in custom.items():
        if key.lower() == "city" and isinstance(value, str) and value.strip():
            return " ".join(name_words(value))
    return None


# --- reading -----------------------------------------------------------------------------------


def _rows(session: Session, query: Any) -> list[Any]:
    """The query's rows as the database driver gives them (plain tuples): at 100,000 rows,
    the ORM's result rows cost a third of the whole search. The query has no parameters."""
    connection = session.connection()
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _contacts(session: Session) -> list[Item]:
    live = col(Contact.deleted_at).is_(None)
    companies: dict[int, str] = dict(
        _rows(
            session,
            select(col(Company.id), col(Company.name)).where(col(Company.deleted_at).is_(None)),
        )
    )
    # The custom fields as text: JSON-decoding 100,000 of them to find a few cities costs
    # more than the rest of the read.
    custom_text = cast(col(Contact.custom), String)
    items: dict[int, Item] = {}
    words = name_words
    for cid, name, company_id, custom in _rows(
        session,
        select(col(Contact.id), col(Contact.name), col(Contact.company_id), custom_text)
        .where(live)
        .order_by(col(Contact.id)),
    ):
        company = companies.get(company_id) if company_id is not None else None
        items[cid] = Item(
            id=cid,
            name=name,
            words=words(name),
            company_id=company_id if company is not None else None,
            company=company,
            city=_city(custom) if custom and len(custom) > 2 else None,
        )
    # Every address and number, matched to the live contacts here (a removed contact's are
    # skipped): cheaper than joining the contacts again.
    find = items.get
    for table, column in (
        (ContactEmail, ContactEmail.c.email),
        (ContactPhone, ContactPhone.c.phone),
    ):
        query = select(table.c.contact_id, column).order_by(
            table.c.contact_id, table.c.position, table.c.id
        )
        emails = table is ContactEmail
        for cid, value in _rows(session, query):
            item = find(cid)
            if item is not None:
                (item.emails if emails else item.phones).append(value)
    return list(items.values())


def _companies(session: Session) -> list[Item]:
    rows = session.execute(
        select(
            col(Company.id),
            col(Company.name),
            col(Company.domain),
            col(Company.address),
            col(Company.custom),
        )
        .where(col(Company.deleted_at).is_(None))
        .order_by(col(Company.id))
    )
    return [
        Item(
            id=cid,
            name=name,
            words=name_words(name, _LEGAL_FORMS),
            domain=domain_key(domain),
            address=" ".join(name_words(address)) or None if address else None,
            city=_city(custom),
        )
        for cid, name, domain, address, custom in rows
    ]


# --- blocking ---------------------------------------------------------------------------------


def _name_keys(item: Item, names: frozenset[str]) -> Iterable[str]:
    # Initials ("Jonas K. Weber") say little: blocking looks at the words of two letters or more.
    words = sorted(w for w in item.words if len(w) > 1) or item.words
    if not words:
        return
    if "same name" in names:
        yield "n:" + " ".join(words)
    if len(words) < 2 or "similar name" not in names:
        return
    for i, word in enumerate(words):
        if len(word) < 4:
            continue
        # One typo (a letter changed, dropped, added or two swapped) in one word, the others
        # exact: the word with one letter deleted is shared by both spellings (the deletion
        # neighbourhood of SymSpell). The keys are specific, so their blocks stay small.
        others = " ".join(words[:i] + words[i + 1 :])
        yield f"x:{others}|{word}"
        for at in range(len(word)):
            yield f"x:{others}|{word[:at]}{word[at + 1 :]}"


def _keys(item: Item, names: frozenset[str]) -> list[str]:
    """The record's blocking keys (a key may come twice: the caller drops repeats)."""
    keys = list(_name_keys(item, names)) if names else []
    if item.emails:
        keys += ["e:" + email_key(e) for e in item.emails]
    for phone in item.phones:
        tail = phone_key(phone)
        if tail is not None:
            keys.append("p:" + tail)
    if item.domain:
        keys.append("d:" + item.domain)
    if item.address:
        keys.append("a:" + item.address)
    # A word of the name within one company or one city.
    if item.company_id is not None:
        scope = f"s:c{item.company_id}|"
        keys += [scope + w for w in item.words if len(w) > 1]
    if item.city:
        scope = f"s:y{item.city}|"
        keys += [scope + w for w in item.words if len(w) > 1]
    return keys


def name_reasons(kind: str, min_score: int) -> frozenset[str]:
    """The name reasons worth a blocking key of their own at `min_score`.

    A pair is listed only if its reasons reach `min_score`. A name alone gives at most its own
    weight; with more evidence (an email, a phone, a company, a city) the pair shares that
    evidence's key anyway. So the keys that find pairs by name alone are built only when the
    name's weight can reach the threshold by itself: at the default of 50, "same name" (40)
    and "similar name" (25) cannot for contacts, and their keys (the bulk of all keys) are
    not built.
    """
    weights = WEIGHTS if kind == "contacts" else COMPANY_WEIGHTS
    return frozenset(r for r in ("same name", "similar name") if weights[r] >= min_score)


def candidate_pairs(
    items: list[Item], kind: str, min_score: int = 0
) -> tuple[set[tuple[int, int]], int]:
    """Pairs of indexes into `items` that share a blocking key, and how many keys were
    skipped for being shared too widely."""
    names = name_reasons(kind, min_score)
    # Nearly every key belongs to one record only: the first record of each key is kept as a
    # plain index, and a list is made only for keys a second record shares (a list for each
    # of 400,000 keys was most of the time here).
    owner: dict[str, int] = {}
    shared: dict[str, list[int]] = {}
    claim = owner.setdefault
    find = shared.get
    for index, item in enumerate(items):
        for key in _keys(item, names):
            earlier = claim(key, index)
            if earlier != index:
                members = find(key)
                if members is None:
                    shared[key] = [earlier, index]
                elif members[-1] != index:
                    members.append(index)
    pairs: set[tuple[int, int]] = set()
    skipped = 0
    for members in shared.values():
        size = len(members)
        if size > BLOCK_LIMIT:
            skipped += 1
            continue
        for i in range(size):
            first = members[i]
            for j in range(i + 1, size):
                pairs.add((first, members[j]))
    return pairs, skipped


# --- scoring ----------------------------------------------------------------------------------


def _reason(name: str, detail: str | None, weights: dict[str, int]) -> dict[str, Any]:
    return {"reason": name, "weight": weights[name], "detail": detail}


def score_pair(a: Item, b: Item, kind: str) -> tuple[int, list[dict[str, Any]]]:
    """The reasons two records look alike, each with its weight, and their capped sum."""
    weights = WEIGHTS if kind == "contacts" else COMPANY_WEIGHTS
    reasons: list[dict[str, Any]] = []
    if a.email_keys and b.email_keys:
        shared = a.email_keys & b.email_keys
        if shared:
            reasons.append(_reason("same email", min(shared), weights))
    if a.phone_keys and b.phone_keys:
        tails = a.phone_keys & b.phone_keys
        if tails:
            shown = next(p for p in a.phones if phone_key(p) in tails)
            reasons.append(_reason("same phone", shown, weights))
    if a.domain and a.domain == b.domain:
        reasons.append(_reason("same domain", a.domain, weights))
    named = False
    if a.words and b.words:
        if not a.name_key:
            a.name_key = " ".join(sorted(a.words))
        if not b.name_key:
            b.name_key = " ".join(sorted(b.words))
        if a.name_key == b.name_key:
            reasons.append(_reason("same name", b.name, weights))
            named = True
        else:
            # Sorted words match "Weber, Jonas" with "Jonas Weber"; the words as written
            # match a typo in a first letter, which can change the sorted order.
            ratio = max(
                fuzz.token_sort_ratio(a.name_key, b.name_key),
                fuzz.ratio(" ".join(a.words), " ".join(b.words)),
            )
            if ratio >= SIMILAR_NAME:
                reasons.append(
                    _reason("similar name", f"{a.name} ~ {b.name} ({ratio:.0f}%)", weights)
                )
                named = True
    # Being at one company or in one city says something only about people of (nearly) one name.
    if named:
        if a.company_id is not None and a.company_id == b.company_id:
            reasons.append(_reason("same company", a.company, weights))
        if a.city and a.city == b.city:
            reasons.append(_reason("same city", a.city, weights))
    if a.address and a.address == b.address:
        reasons.append(_reason("same address", a.address, weights))
    score = min(100, sum(r["weight"] for r in reasons))
    return score, reasons


def _side(item: Item, kind: str) -> dict[str, Any]:
    side: dict[str, Any] = {"id": item.id, "name": item.name}
    if kind == "contacts":
        side.update(emails=item.emails, phones=item.phones, company=item.company)
    else:
        side.update(domain=item.domain)
    side["city"] = item.city
    return side


def find_dupes(
    ctx: Context,
    session: Session,
    kind: str,
    *,
    min_score: int = DEFAULT_MIN_SCORE,
    limit: int | None = None,
) -> DupeReport:
    """Likely duplicate pairs of `kind` (contacts or companies), best first."""
    kind = _kind(kind)
    if not 0 <= min_score <= 100:
        raise InvalidValue("min-score", min_score, "must be from 0 to 100")
    items = _contacts(session) if kind == "contacts" else _companies(session)
    pairs, skipped = candidate_pairs(items, kind, min_score)
    # What scoring compares, for the records that are in a pair only.
    for index in {i for pair in pairs for i in pair}:
        items[index].prepare()
    ignored = _ignored(session, _entity(kind))
    found: list[tuple[int, Item, Item, list[dict[str, Any]]]] = []
    for i, j in pairs:
        a, b = items[i], items[j]
        if (a.id, b.id) in ignored:
            continue
        score, reasons = score_pair(a, b, kind)
        if score >= min_score and reasons:
            found.append((score, a, b, reasons))
    found.sort(key=lambda f: (-f[0], f[1].id, f[2].id))
    if limit is not None:
        found = found[:limit]
    return DupeReport(
        kind=kind,
        pairs=[
            {
                "score": score,
                "first": _side(a, kind),
                "second": _side(b, kind),
                "reasons": reasons,
            }
            for score, a, b, reasons in found
        ],
        candidates=len(pairs),
        records=len(items),
        skipped_keys=skipped,
    )


# --- keep separate ----------------------------------------------------------------------------


def _kind(kind: str) -> str:
    value = kind.strip().lower()
    aliases = {"contact": "contacts", "company": "companies"}
    value = aliases.get(value, value)
    if value not in KINDS:
        raise InvalidValue("kind", kind, "must be contacts or companies")
    return value


def _entity(kind: str) -> str:
    return "contact" if _kind(kind) == "contacts" else "company"


def _ignored(session: Session, entity: str) -> set[tuple[int, int]]:
    rows = session.execute(
        select(col(DupeIgnore.first_id), col(DupeIgnore.second_id)).where(
            col(DupeIgnore.kind) == entity
        )
    )
    return {(int(a), int(b)) for a, b in rows}


def _find(session: Session, entity: str, ref: str) -> Any:
    from crm_cli.services.lookups import find_company, find_contact

    finder = find_contact if entity == "contact" else find_company
    try:
        return finder(session, ref)
    except NotFound as missing:
        # A pair stays remembered when one of them is removed: it can be named still.
        try:
            return finder(session, ref, removed=True)
        except NotFound:
            raise missing from None


def ignore_pair(
    ctx: Context, session: Session, kind: str, first: str, second: str
) -> dict[str, Any]:
    """Remember that two records are not duplicates ("keep separate")."""
    entity = _entity(kind)
    a, b = _find(session, entity, first), _find(session, entity, second)
    if a.id == b.id:
        raise InvalidValue(entity, second, f"names the same {entity} as {first!r}")
    low, high = sorted((int(a.id), int(b.id)))
    names = {int(a.id): a.name, int(b.id): b.name}
    record = {"kind": entity, "first": {"id": low, "name": names[low]}}
    record["second"] = {"id": high, "name": names[high]}
    existing = session.scalar(
        select(DupeIgnore).where(
            col(DupeIgnore.kind) == entity,
            col(DupeIgnore.first_id) == low,
            col(DupeIgnore.second_id) == high,
        )
    )
    if existing is not None:
        return {**record, "created": False}
    session.add(DupeIgnore(kind=entity, first_id=low, second_id=high, user_id=ctx.user_id()))
    session.flush()
    return {**record, "created": True}


def unignore_pair(
    ctx: Context, session: Session, kind: str, first: str, second: str
) -> dict[str, Any]:
    """Forget a "keep separate" pair: `crm dupes` may list it again."""
    entity = _entity(kind)
    a, b = _find(session, entity, first), _find(session, entity, second)
    low, high = sorted((int(a.id), int(b.id)))
    existing = session.scalar(
        select(DupeIgnore).where(
            col(DupeIgnore.kind) == entity,
            col(DupeIgnore.first_id) == low,
            col(DupeIgnore.second_id) == high,
        )
    )
    if existing is None:
        raise Conflict(f"{entity}s {low} and {high} are not marked as kept separate")
    session.delete(existing)
    session.flush()
    return {"kind": entity, "first": {"id": low}, "second": {"id": high}, "removed": True}


def ignored_pairs(ctx: Context, session: Session, kind: str | None = None) -> list[dict[str, Any]]:
    """The pairs marked "keep separate", oldest first."""
    query = select(DupeIgnore).order_by(col(DupeIgnore.id))
    if kind is not None:
        query = query.where(col(DupeIgnore.kind) == _entity(kind))
    rows = list(session.scalars(query))
    names: dict[tuple[str, int], str] = {}
    for entity, model in (("contact", Contact), ("company", Company)):
        ids = {r.first_id for r in rows if r.kind == entity} | {
            r.second_id for r in rows if r.kind == entity
        }
        if ids:
            for i, n in session.execute(
                select(col(model.id), col(model.name)).where(col(model.id).in_(ids))
            ):
                names[(entity, int(i or 0))] = str(n)
    tz = common.zone(session)
    return [
        {
            "kind": r.kind,
            "first": {"id": r.first_id, "name": names.get((r.kind, r.first_id))},
            "second": {"id": r.second_id, "name": names.get((r.kind, r.second_id))},
            "created_at": common.iso(r.created_at, tz),
        }
        for r in rows
    ]
