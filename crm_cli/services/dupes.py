"""Likely duplicates among contacts and companies, each pair with a score that explains itself.

Candidates come only from blocking keys: two records are compared when they share one of
them (a normalised email, the last digits of a phone, a domain, the name's words in any
order, a word of the name with the other words' initials, a word of the name at the same
company or in the same city). Comparing every pair would be 5 billion comparisons at 100,000
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

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
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
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "web.de",
        "qq.com",
        "163.com",
        "126.com",
        "proton.me",
        "protonmail.com",
    }
)


def name_words(name: str | None, drop: frozenset[str] = _HONORIFICS) -> list[str]:
    """A name's words, folded (case, accents), without titles or legal forms."""
    if not name:
        return []
    text = name.lower() if name.isascii() else fold(name)
    return [w for w in _NON_WORD.split(text) if w and w not in drop]


def email_key(email: str) -> str:
    """An address as a person means it: case folded, `+tag` dropped from the local part."""
    local, _, domain = email.strip().lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def phone_key(phone: str) -> str | None:
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 6:
        return None
    return digits[-PHONE_TAIL:]


def domain_key(value: str | None) -> str | None:
    if not value:
        return None
    domain = value.strip().lower().removeprefix("https://").removeprefix("http://")
    domain = domain.removeprefix("www.").split("/", 1)[0]
    return domain or None


@dataclass
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

    @property
    def name_key(self) -> str:
        return " ".join(sorted(self.words))


@dataclass
class DupeReport:
    kind: str
    pairs: list[dict[str, Any]]
    candidates: int  # pairs compared
    records: int  # records read
    skipped_keys: int  # blocking keys shared by too many records


def _city(custom: dict[str, Any] | None) -> str | None:
    for key, value in (custom or {}).items():
        if key.lower() == "city" and isinstance(value, str) and value.strip():
            return " ".join(name_words(value))
    return None


# --- reading -----------------------------------------------------------------------------------


def _contacts(session: Session) -> list[Item]:
    live = col(Contact.deleted_at).is_(None)
    items: dict[int, Item] = {}
    companies: dict[int, str] = {
        int(i or 0): str(n)
        for i, n in session.execute(
            select(col(Company.id), col(Company.name)).where(col(Company.deleted_at).is_(None))
        )
    }
    for cid, name, company_id, custom in session.execute(
        select(col(Contact.id), col(Contact.name), col(Contact.company_id), col(Contact.custom))
        .where(live)
        .order_by(col(Contact.id))
    ):
        items[cid] = Item(
            id=cid,
            name=name,
            words=name_words(name),
            company_id=company_id if company_id in companies else None,
            company=companies.get(company_id) if company_id is not None else None,
            city=_city(custom) if custom else None,
        )
    live_ids = select(col(Contact.id)).where(live)
    for cid, email in session.execute(
        select(ContactEmail.c.contact_id, ContactEmail.c.email)
        .where(ContactEmail.c.contact_id.in_(live_ids))
        .order_by(ContactEmail.c.position, ContactEmail.c.id)
    ):
        items[cid].emails.append(email)
    for cid, phone in session.execute(
        select(ContactPhone.c.contact_id, ContactPhone.c.phone)
        .where(ContactPhone.c.contact_id.in_(live_ids))
        .order_by(ContactPhone.c.position, ContactPhone.c.id)
    ):
        items[cid].phones.append(phone)
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


def _name_keys(item: Item) -> Iterable[str]:
    words = item.words
    if not words:
        return
    yield "n:" + item.name_key
    if len(words) < 2:
        return
    for i, word in enumerate(words):
        if len(word) < 2:
            continue
        # One word exact and the others' initials: a typo anywhere but in an initial of the
        # other words still shares one of these keys.
        initials = "".join(sorted(w[0] for j, w in enumerate(words) if j != i))
        yield f"w:{word}|{initials}"


def _keys(item: Item, kind: str) -> Iterable[str]:
    yield from _name_keys(item)
    for email in item.emails:
        yield "e:" + email_key(email)
    for phone in item.phones:
        tail = phone_key(phone)
        if tail:
            yield "p:" + tail
    # A word of the name within one company, city or (for companies) domain.
    scopes = []
    if item.company_id is not None:
        scopes.append(f"c{item.company_id}")
    if item.city:
        scopes.append(f"y{item.city}")
    if kind == "contacts":
        for email in item.emails:
            domain = email_key(email).rpartition("@")[2]
            if domain not in _FREE_MAIL:
                scopes.append(f"d{domain}")
    if item.domain:
        yield "d:" + item.domain
    if item.address:
        yield "a:" + item.address
    for scope in scopes:
        for word in item.words:
            if len(word) >= 2:
                yield f"s:{scope}|{word}"


def candidate_pairs(items: list[Item], kind: str) -> tuple[set[tuple[int, int]], int]:
    """Pairs of indexes into `items` that share a blocking key, and how many keys were
    skipped for being shared too widely."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        for key in set(_keys(item, kind)):
            blocks[key].append(index)
    pairs: set[tuple[int, int]] = set()
    skipped = 0
    for members in blocks.values():
        size = len(members)
        if size < 2:
            continue
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
    from rapidfuzz import fuzz

    weights = WEIGHTS if kind == "contacts" else COMPANY_WEIGHTS
    reasons: list[dict[str, Any]] = []
    if a.emails and b.emails:
        shared = {email_key(e) for e in a.emails} & {email_key(e) for e in b.emails}
        if shared:
            reasons.append(_reason("same email", min(shared), weights))
    if a.phones and b.phones:
        tails = {phone_key(p) for p in a.phones} & {phone_key(p) for p in b.phones} - {None}
        if tails:
            shown = next(p for p in a.phones if phone_key(p) in tails)
            reasons.append(_reason("same phone", shown, weights))
    if a.domain and a.domain == b.domain:
        reasons.append(_reason("same domain", a.domain, weights))
    named = False
    if a.words and b.words:
        if a.name_key == b.name_key:
            reasons.append(_reason("same name", b.name, weights))
            named = True
        else:
            ratio = fuzz.token_sort_ratio(a.name_key, b.name_key)
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
    pairs, skipped = candidate_pairs(items, kind)
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
