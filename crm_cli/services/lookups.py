"""Finding records by what people call them: a contact by id, email or name, a company by
id, name or domain (created on first mention where a link needs one), a deal by id; names
for ids; the filters that scope a listing to a contact, a deal or an owner.

Every service that refers to another record's kind finds it here, so the services of the
kinds do not import each other (contacts and companies did, both ways). In a write session
each lookup locks the row it finds (`common.locking`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain.text import clean_line, index_tokens
from crm_cli.errors import InvalidValue, NotFound
from crm_cli.services import common
from crm_cli.services.users import resolve_user, user_names
from crm_cli.store.models import Company, Contact, ContactEmail

if TYPE_CHECKING:
    from crm_cli.services.context import Context
    from crm_cli.store.sales import Deal


def lock_in_order(session: Session, table: str, refs: list[str]) -> None:
    """Lock the records named by id among `refs`, in id order, before a command changes
    several of them. Two commands naming the same records in different orders
    (`deal move 3 7` and `deal won 7 3`) then queue instead of deadlocking."""
    ids = sorted({n for n in (common.id_of(r) for r in refs) if n})
    if len(ids) >= 2:
        lock_ids(session, table, ids)


def lock_ids(session: Session, table: str, ids: list[int]) -> None:
    """Lock the rows of `table` with these ids, in id order (PostgreSQL; SQLite's write lock
    already serialises writers)."""
    if not ids or not common.locking(session):
        return
    from sqlalchemy import column
    from sqlalchemy import table as table_clause

    rows = table_clause(table, column("id"))
    session.execute(
        select(rows.c.id)
        .where(rows.c.id.in_(sorted(set(ids))))
        .order_by(rows.c.id)
        .with_for_update()
    ).all()


# The class keys of the PostgreSQL advisory locks a writer takes on a unique value before it
# checks that the value is free (imports use 7232432, migrations 7232431).
NAME_LOCKS = {"company": 7232433, "email": 7232434}


def lock_values(session: Session, kind: str, values: list[str]) -> None:
    """Take turns with other writers on these values of `kind` (company names, emails) until
    the transaction ends, before checking that they are free (PostgreSQL; SQLite's write lock
    already serialises writers). Two shells adding "Acme" at once then see each other: the
    second waits, reads the first one's company and refuses or reuses it, as when run one
    after the other. Values are compared folded (case, spaces) as the check compares them."""
    if not values or not common.locking(session):
        return
    if session.get_bind().dialect.name != "postgresql":
        return
    import zlib

    from sqlalchemy import text as sql

    keys = sorted(
        {zlib.crc32(" ".join(v.split()).lower().encode()) - 2**31 for v in values if v.strip()}
    )
    # Shared: any number of these commands pass the gate together; an import holds it alone.
    session.execute(sql("SELECT pg_advisory_xact_lock_shared(:gate)"), {"gate": VALUES_GATE})
    for key in keys:  # in order: two writers locking several values never deadlock
        session.execute(
            sql("SELECT pg_advisory_xact_lock(:kind, :key)"),
            {"kind": NAME_LOCKS[kind], "key": key},
        )


# The gate every `lock_values` passes (shared) before its values' locks, and an import holds
# alone (`lock_all_values`): a lock for all values at once, where an import creating 20,000
# companies could not take a lock each (PostgreSQL's lock table holds about 6,400 for all
# sessions together).
VALUES_GATE = 7232435


def lock_all_values(session: Session) -> None:
    """Hold every company name and email until the transaction ends (PostgreSQL): a
    `company add` or `contact add` that checks one of them waits until then, and this waits
    for those already checking. For an import, which may create any number of them."""
    if not common.locking(session) or session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text as sql

    session.execute(sql("SELECT pg_advisory_xact_lock(:gate)"), {"gate": VALUES_GATE})


# How many records a loose reference may match before it is refused as too vague.
_SHOWN = 5
# How many candidates of a name lookup are compared, per rule (exact, prefix, word).
_CANDIDATES = 5000
# How many records of the search index a not-found name's suggestion is chosen among.
_SUGGEST = 2000
# A suggestion must be at least this close (rapidfuzz's ratio, 0..100) to what was typed.
_CLOSE = 60

# The rules a name is matched by, best first: the name as typed (case aside), the name with
# case and accents folded, the start of the name, the start of a word of it.
_EXACT, _FOLDED, _PREFIX, _WORD = range(4)


def _by_name(
    session: Session,
    kind: str,
    model: Any,
    text: str,
    live: ColumnElement[bool] | list[ColumnElement[bool]],
    removed: bool,
    *,
    exact_only: bool = False,
    loose_only: bool = False,
    name: Any = None,
) -> list[Any]:
    """Records named `text` (case-insensitive), else those whose name is `text` with case and
    accents folded the way search folds them ("jose perez" is José Pérez), else (unless
    `exact_only`) those whose name starts with `text`, else those with a word that does
    ("perez", "pér"): at most a few, enough to refuse an ambiguous name ("jose" with José
    Pérez and Joseph Miller).

    Each rule asks the search index for the records it can match (`_candidates`), so a
    lookup reads the few rows that bear the name, never the table: the index's tokens are
    the folded words of the name, in order, so "Deal 77" is the phrase `deal 77` at the start
    of a title, not every title with a word starting with "deal" and one with "77" (111,000 at
    a million deals). Removed records are not in the index: they are few, and read through
    the index on `deleted_at`."""
    from crm_cli.domain.text import fold, has_cjk

    name = col(model.name) if name is None else name
    conditions = list(live) if isinstance(live, list) else [live]
    text = text.strip()
    folded = " ".join(fold(text).split())
    tokens = index_tokens(text).split()
    if not folded:
        return []
    if not tokens:
        # Nothing a word is made of ("!!!"): only that very name; it has no case to fold.
        query = select(model).where(*conditions, name == text).order_by(col(model.id))
        return list(session.scalars(query.limit(_SHOWN + 1)))
    if exact_only:
        rules = [_FOLDED]
    elif loose_only:
        rules = [_PREFIX, _WORD]
    else:
        rules = [_FOLDED, _PREFIX, _WORD]
    cjk = has_cjk(text)
    words = [] if cjk else tokens
    for rule in rules:
        rows = _candidates(session, kind, model, name, text, rule, conditions, removed, cjk)
        ranked = [(_rank(str(full), text, folded, words), int(rid)) for rid, full in rows]
        ranks = [r for r, _ in ranked if r is not None and r <= rule]
        if ranks:
            best = min(ranks)
            ids = sorted(rid for r, rid in ranked if r == best)[: _SHOWN + 1]
            query = select(model).where(col(model.id).in_(ids)).order_by(col(model.id))
            return list(session.scalars(query))
    return []


def _rank(full: str, text: str, folded: str, tokens: list[str]) -> int | None:
    """The best rule by which the name `full` matches what was typed (`_EXACT`...), or None.
    A start is a start of the folded name or of its words: its search tokens, so "brien" is
    a word of O'Brien-Smith, when `tokens` are the typed words' (none for CJK text, whose
    tokens are its characters and pairs: that is matched by the folded name itself, "张"
    starts 张伟)."""
    from crm_cli.domain.text import fold

    if full.lower() == text.lower():
        return _EXACT
    name = " ".join(fold(full).split())
    if name == folded:
        return _FOLDED
    if name.startswith(folded):
        return _PREFIX
    words = index_tokens(full).split() if tokens else []
    n = len(tokens)
    for i in range(len(words) - n + 1):
        if words[i : i + n - 1] == tokens[:-1] and words[i + n - 1].startswith(tokens[-1]):
            return _PREFIX if i == 0 else _WORD
    if f" {folded}" in f" {name}":
        return _WORD
    return None


def _candidates(
    session: Session,
    kind: str,
    model: Any,
    name: Any,
    text: str,
    rule: int,
    conditions: list[Any],
    removed: bool,
    cjk: bool,
) -> list[Any]:
    """(id, name) of at most `_CANDIDATES` records that `rule` may accept (`_rank` decides),
    found through the search index on both databases.

    The name's tokens (`search_name`, folded words in order; a contact's given and family
    names follow) must hold the typed words: all of them for `_FOLDED` (so that at a million
    "Deal N" the first few thousand candidates of "deal" are not all "Deal 1"...), from the
    start for `_PREFIX`, anywhere for `_WORD`, the last typed word as a word's start. On SQLite the
    FTS5 index answers that as a phrase anchored at the start of the name (`^"deal 77"`,
    `^"deal 77" *`, `"deal 77" *`); PostgreSQL's GIN index gives the records holding each
    word, and the tokens are compared on those. CJK words are tokens in another order (the
    characters, then their pairs): each must only start a word of the name."""
    from crm_cli.domain.text import query_tokens

    words = col(model.search_name)
    if cjk:
        tokens = query_tokens(text)
        starts = [_like_start(words, t) for t in tokens]
        fts = " ".join(f'"{t}"*' for t in tokens)
        tsq = " & ".join(f"'{t}':*" for t in tokens)
    else:
        tokens = index_tokens(text).split()
        phrase = " ".join(tokens)
        if rule == _FOLDED:
            exact = words == phrase
            if hasattr(model, "given_name"):
                # A contact's given and family names add their words not in the name.
                given = or_(col(model.given_name).is_not(None), col(model.family_name).is_not(None))
                exact = or_(exact, and_(given, _like(words, f"{phrase} ", "%")))
            starts = [exact]
            fts = f'^"{phrase}"'
        elif rule == _PREFIX:
            starts = [_like(words, phrase, "%")]
            fts = f'^"{phrase}" *'
        else:
            starts = [_like_start(words, phrase)]
            fts = f'"{phrase}" *'
        *whole, last = tokens
        tsq = " & ".join(
            [*(f"'{t}'" for t in whole), f"'{last}'" + ("" if rule == _FOLDED else ":*")]
        )
    query = select(col(model.id), name).where(*conditions, *starts)
    if not removed:
        query = _indexed(session, kind, model, query, fts, tsq)
    return list(session.execute(query.limit(_CANDIDATES)).all())


def _like(column: Any, text: str, after: str = "", before: str = "") -> Any:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"{before}{escaped}{after}", escape="\\")


def _like_start(column: Any, text: str) -> Any:
    """`text` starts the column's text or one of its words."""
    return or_(_like(column, text, "%"), _like(column, text, "%", "% "))


def _indexed(session: Session, kind: str, model: Any, query: Any, fts: str, tsq: str) -> Any:
    """`query` (a select of `kind`'s table) kept to the live records the search index finds:
    on SQLite those matching the FTS5 query `fts` in the name (`{kind}_fts`), read in the
    index's order joined to the table, so a LIMIT stops the reading; on PostgreSQL those
    matching the tsquery `tsq` in the document of `ix_{kind}_search` (store/ddl.py: the same
    expression, or the index is not used), among rows not removed (the index is partial)."""
    from sqlalchemy import column, literal_column, table
    from sqlalchemy import text as sql

    from crm_cli.store.ddl import SEARCH_COLUMNS

    columns = SEARCH_COLUMNS[kind]
    if session.get_bind().dialect.name == "sqlite":
        index = table(f"{kind}_fts", column("rowid"))
        where = f"search_name : ({fts})" if len(columns) > 1 else fts
        return (
            query.select_from(index)
            .join(model, col(model.id) == index.c.rowid)
            .where(sql(f"{kind}_fts MATCH :name_q").bindparams(name_q=where))
        )
    document: Any = getattr(model, columns[0])
    for name in columns[1:]:
        document = document.op("||")(literal_column("' '")).op("||")(getattr(model, name))
    simple: Any = literal_column("'simple'::regconfig")
    return query.where(
        func.to_tsvector(simple, document).op("@@")(func.to_tsquery(simple, tsq)),
        col(model.deleted_at).is_(None),
    )


def _one(session: Session, kind: str, ref: str, matches: list[Any], label: Any, hint: str) -> Any:
    """The single match, locked in a write session; several are refused, listed with ids."""
    if len(matches) > 1:
        shown = "; ".join(f"{m.id} {label(m)}" for m in matches[:_SHOWN])
        more = " and more" if len(matches) > _SHOWN else ""
        raise InvalidValue(kind, ref, f"matches several: {shown}{more}; {hint}")
    if not matches:
        return None
    found = matches[0]
    if common.locking(session):
        session.get(type(found), found.id, with_for_update=True)
    return found


def _not_found(
    session: Session,
    kind: str,
    ref: str,
    model: Any,
    name: Any,
    conditions: list[Any],
    removed: bool = False,
) -> NotFound:
    """`no contact 'Jonsa'; did you mean 'Jonas Weber' (id 3)?`: the closest name (rapidfuzz's
    ratio, accents folded, with the whole name and with each of its words) among a bounded
    set of candidates, never a scan of every name.

    The candidates are those the search index finds by the start of a word typed: the whole
    word first, then ever shorter starts ("renwal", "renw", "ren": "Acme renewal"), until
    `_SUGGEST` records have been read. Removed records are not in the index: the candidates
    are then the removed records (read by the index on `deleted_at`)."""
    error = NotFound(kind, ref)
    text = ref.strip()
    if not text or common.id_of(text) is not None:
        return error
    if removed:
        rows = list(session.execute(select(col(model.id), name).where(*conditions).limit(_SUGGEST)))
    else:
        rows = _suggestion_candidates(session, kind, model, name, text, conditions)
    best = _closest(text, rows)
    if best is not None:
        error.message += f"; did you mean {best[1]!r} (id {best[0]})?"
    return error


def _suggestion_candidates(
    session: Session, kind: str, model: Any, name: Any, text: str, conditions: list[Any]
) -> list[Any]:
    """(id, name) of the live records with a word that starts as a typed word does, longest
    starts first: at most `_SUGGEST` records of the index in all, shared among the words, so
    "Persn 4321" finds Person 4321 by "4321" before "pers" takes every Person."""
    words = list(dict.fromkeys(index_tokens(text).split()))[:3]
    seen: set[int] = set()
    rows: list[Any] = []
    # Whether a record qualifies is read with it: as `id IN (...) AND deleted_at IS NULL`,
    # SQLite read every live contact's entry of ix_contact_live_name instead of the few rows.
    wanted = and_(*conditions).label("wanted")
    for word in words:
        budget = _SUGGEST // len(words)
        for length in range(min(len(word), 8), 0, -1):
            if budget <= 0:
                break
            start = word[:length]
            query = select(col(model.id), name, wanted)
            found = session.execute(
                _indexed(session, kind, model, query, f'"{start}"*', f"'{start}':*").limit(budget)
            ).all()
            budget -= len(found)
            for record_id, full, ok in found:
                if ok and int(record_id) not in seen:
                    seen.add(int(record_id))
                    rows.append((record_id, full))
    return rows


def _closest(text: str, rows: list[Any]) -> tuple[int, str] | None:
    """The (id, name) of `rows` closest to `text`, if close enough (`closest_name`); of
    equally close ones, the oldest record."""
    from crm_cli.domain.text import closest_name

    ordered = sorted((int(i), str(n)) for i, n in rows)
    best = closest_name(text, [n for _, n in ordered], _CLOSE)
    return ordered[best] if best is not None else None


def find_deal(
    session: Session, ref: str | int, *, removed: bool = False, closed: bool = False
) -> Deal:
    """A live deal (a removed one with `removed=True`) by id, or by a word of its title that
    only one open deal has (`crm deal move acme negotiation`). In a write session its row is
    locked until the transaction ends, so moves of one deal follow each other and its stage
    history always chains. With `closed`, a won or lost deal is named by its title too."""
    from crm_cli.store.sales import Deal  # not at import: contact commands skip the sales tables

    text = str(ref).strip()
    number = common.id_of(text)
    deal: Deal | None
    if number is not None:
        deal = session.get(Deal, number, with_for_update=common.locking(session))
    elif text:
        live = col(Deal.deleted_at).is_not(None) if removed else col(Deal.deleted_at).is_(None)
        conditions: list[ColumnElement[bool]] = [live]
        if not removed and not closed:
            conditions.append(col(Deal.status) == "open")
        title = col(Deal.title)
        matches = _by_name(session, "deal", Deal, text, conditions, removed, name=title)
        deal = _one(session, "deal", text, matches, lambda d: d.title, "use the id")
        if deal is None:
            raise _not_found(session, "deal", text, Deal, title, conditions, removed)
    else:
        raise InvalidValue("deal", ref, "not an id (a whole number) or a title")
    if deal is None or (deal.deleted_at is not None) != removed:
        raise NotFound("removed deal" if removed else "deal", ref)
    return deal


def find_contact(session: Session, ref: str, *, removed: bool = False) -> Contact:
    text = str(ref).strip()
    contact: Contact | None = None
    number = common.id_of(text)
    if number is not None:
        contact = session.get(Contact, number, with_for_update=common.locking(session))
    elif "@" in text:
        query = (
            select(Contact)
            .join(ContactEmail, ContactEmail.c.contact_id == col(Contact.id))
            .where(ContactEmail.c.email == text.lower())
        )
        if common.locking(session):
            query = query.with_for_update(of=Contact)
        contact = session.scalar(query)
    elif text:
        live = (
            col(Contact.deleted_at).is_not(None) if removed else col(Contact.deleted_at).is_(None)
        )
        matches = _by_name(session, "contact", Contact, text, live, removed)
        contact = _one(session, "contact", ref, matches, lambda c: c.name, "use the id or email")
        if contact is None:
            kind = "removed contact" if removed else "contact"
            raise _not_found(session, kind, text, Contact, col(Contact.name), [live], removed)
    if contact is None or (contact.deleted_at is not None) != removed:
        raise NotFound("removed contact" if removed else "contact", ref)
    return contact


def index_company(company: Company, tags: list[str]) -> None:
    company.search_name = index_tokens(company.name)
    company.search_doc = index_tokens(
        company.domain,
        company.industry,
        company.address,
        *[str(v) for v in company.custom.values()],
        *tags,
    )


def find_company(
    session: Session, ref: str, *, removed: bool = False, loose: bool = True
) -> Company:
    """A company by id, by name (case-insensitive), by domain, or (with `loose`) by a word of
    its name that only one company has."""
    text = ref.strip()
    live = col(Company.deleted_at).is_not(None) if removed else col(Company.deleted_at).is_(None)
    number = common.id_of(text)
    if number is not None:
        company = session.get(Company, number, with_for_update=common.locking(session))
        if company is None or (company.deleted_at is not None) != removed:
            raise NotFound("removed company" if removed else "company", ref)
        return company
    matches = _by_name(session, "company", Company, text, live, removed, exact_only=True)
    if not matches and "." in text and " " not in text:  # as every domain is stored
        by_domain = select(Company).where(live, col(Company.domain) == text.lower())
        matches = list(session.scalars(by_domain.limit(3)))
    if not matches and loose and text:
        matches = _by_name(session, "company", Company, text, live, removed, loose_only=True)
    found = _one(session, "company", ref, list(matches), lambda c: c.name, "use the id")
    if found is None:
        kind = "removed company" if removed else "company"
        if not loose:
            raise NotFound(kind, ref)
        raise _not_found(session, kind, text, Company, col(Company.name), [live], removed)
    return found  # type: ignore[no-any-return]


def company_for_link(session: Session, ref: str, owner_id: int | None) -> Company:
    """The company a contact or deal should point at: found by id or name, or created by name."""
    if common.id_of(ref) is None:
        lock_values(session, "company", [ref])
    try:
        # Exact name or domain only: `--company Acme` must not land on "Acme Trading".
        return find_company(session, ref, loose=False)
    except NotFound:
        if common.id_of(ref) is not None:
            raise
    company = Company(name=clean_line(ref, "company", collapse=False), owner_id=owner_id)
    index_company(company, [])
    session.add(company)
    session.flush()
    return company


def contact_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(col(Contact.id), col(Contact.name)).where(col(Contact.id).in_(wanted))
    )
    return {int(i or 0): str(n) for i, n in rows}


def deal_titles(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    from crm_cli.store.sales import Deal

    rows = session.execute(select(col(Deal.id), col(Deal.title)).where(col(Deal.id).in_(wanted)))
    return {int(i or 0): str(t) for i, t in rows}


def owner_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    return user_names(session, {i for i in ids if i is not None})


def scope(
    ctx: Context,
    session: Session,
    model: Any,
    *,
    contact: str | None = None,
    deal: str | None = None,
    owner: str | None = None,
    mine: bool = False,
) -> list[ColumnElement[bool]]:
    """Conditions for `--contact`, `--deal`, `--owner` and `--mine` on a table that has
    contact_id, deal_id and owner_id columns; unknown references raise NotFound."""
    conditions: list[ColumnElement[bool]] = []
    if contact:
        conditions.append(col(model.contact_id) == find_contact(session, contact).id)
    if deal:
        conditions.append(col(model.deal_id) == find_deal(session, deal).id)
    if owner:
        conditions.append(col(model.owner_id) == resolve_user(session, owner))
    elif mine:
        conditions.append(col(model.owner_id) == ctx.user_id(session))
    return conditions
