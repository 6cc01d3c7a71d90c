"""Finding records by what people call them: a contact by id, email or name, a company by
id, name or domain (created on first mention where a link needs one), a deal by id; names
for ids; the filters that scope a listing to a contact, a deal or an owner.

Every service that refers to another record's kind finds it here, so the services of the
kinds do not import each other (contacts and companies did, both ways). In a write session
each lookup locks the row it finds (`common.locking`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, or_, select
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
    for key in keys:  # in order: two writers locking several values never deadlock
        session.execute(
            sql("SELECT pg_advisory_xact_lock(:kind, :key)"),
            {"kind": NAME_LOCKS[kind], "key": key},
        )


# How many records a loose reference may match before it is refused as too vague.
_SHOWN = 5


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
    `exact_only`) those whose folded name has a word starting with the folded `text`: at most
    a few, enough to refuse an ambiguous name ("jose" with José Pérez and Joseph Miller).

    The search index narrows the candidates first (its tokens are folded and match a word's
    prefix, so it holds every record either rule accepts), so a lookup reads a few rows at a
    million contacts, not the table. Removed records are not in that index, and a text without
    a letter or digit gives no tokens: those, and a name the index does not find, are looked
    up by reading the names (the error path, where a suggestion is made anyway)."""
    from crm_cli.domain.text import query_tokens

    name = col(model.name) if name is None else name
    base = list(live) if isinstance(live, list) else [live]
    narrowed: list[list[Any]] = [base]
    if not removed and query_tokens(text):
        from crm_cli.services.search import matching_ids

        narrowed.insert(0, [*base, col(model.id).in_(matching_ids(session, kind, text))])
    for conditions in narrowed:
        if not loose_only:
            exact = select(model).where(*conditions, func.lower(name) == text.lower())
            found = list(session.scalars(exact.order_by(col(model.id)).limit(_SHOWN + 1)))
            if found:
                return found
        found = _folded(session, model, name, text, conditions, exact_only, loose_only)
        if found:
            return found
    return []


# How many candidates of a name lookup are compared with accents folded.
_CANDIDATES = 5000


def _folded(
    session: Session,
    model: Any,
    name: Any,
    text: str,
    conditions: list[Any],
    exact_only: bool,
    loose_only: bool,
) -> list[Any]:
    """The folded rules of `_by_name` (whole name, then a word's start), applied to the names
    the conditions narrow to; without the index, to those a case-only match finds (SQL
    cannot fold accents on every database)."""
    from crm_cli.domain.text import fold

    wanted = " ".join(fold(text).split())
    if not wanted:
        return []
    query = select(col(model.id), name).where(*conditions)
    if hasattr(model, "search_name"):
        # The name's folded words (kept for search) start with each folded word typed.
        words = col(model.search_name)
        for token in index_tokens(text).split():
            like = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(
                or_(words.like(f"{like}%", escape="\\"), words.like(f"% {like}%", escape="\\"))
            )
    rows = session.execute(query.order_by(col(model.id)).limit(_CANDIDATES)).all()
    exact: list[int] = []
    loose: list[int] = []
    for record_id, full in rows:
        folded = " ".join(fold(str(full)).split())
        if folded == wanted:
            exact.append(int(record_id))
        elif folded.startswith(wanted) or f" {wanted}" in f" {folded}":
            loose.append(int(record_id))
    if exact_only:
        ids = exact
    elif loose_only:
        ids = sorted(exact + loose)
    else:
        ids = exact or loose
    if len(rows) >= _CANDIDATES and not exact_only and not (exact and not loose_only):
        # More candidates than were compared: those the case-only rule finds among the rest
        # count too, so one match among the first few thousand is not taken as the only one.
        more = {int(m.id) for m in _loose(session, model, name, text, conditions)}
        ids = sorted(set(ids) | more)
    if not ids:
        return []
    return list(
        session.scalars(
            select(model).where(col(model.id).in_(ids[: _SHOWN + 1])).order_by(col(model.id))
        )
    )


def _loose(session: Session, model: Any, name: Any, text: str, conditions: list[Any]) -> list[Any]:
    """Records whose name starts with `text` or has a word starting with it (case and accents
    as typed are folded the way names are compared: Unicode lower case)."""
    wanted = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    lowered = func.lower(name)
    query = (
        select(model)
        .where(
            *conditions,
            or_(
                lowered.like(f"{wanted}%", escape="\\"),
                lowered.like(f"% {wanted}%", escape="\\"),
            ),
        )
        .order_by(col(model.id))
        .limit(_SHOWN + 1)
    )
    return list(session.scalars(query))


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
    session: Session, kind: str, ref: str, model: Any, name: Any, conditions: list[Any]
) -> NotFound:
    """`no contact 'Jonsa'; did you mean 'Jonas Weber' (id 3)?`: the closest name among
    those starting with the same letter (a bounded set, never a scan of every name)."""
    import difflib

    error = NotFound(kind, ref)
    text = ref.strip()
    if not text or common.id_of(text) is not None:
        return error
    candidates = session.execute(
        select(col(model.id), name)
        .where(
            *conditions,
            or_(
                func.lower(name).like(f"{text[0].lower()}%"),
                func.lower(name).like(f"% {text[0].lower()}%"),
            ),
        )
        .limit(2000)
    ).all()
    # Compared with the whole name and with each of its words: "Jonsa" is close to the
    # "Jonas" of "Jonas Weber", not to the whole name.
    wanted = text.lower()
    best: tuple[float, str, int] | None = None
    for record_id, full in candidates:
        for part in {str(full).lower(), *str(full).lower().split()}:
            score = difflib.SequenceMatcher(None, wanted, part).ratio()
            if score >= 0.6 and (best is None or score > best[0]):
                best = (score, str(full), int(record_id))
    if best is not None:
        error.message += f"; did you mean {best[1]!r} (id {best[2]})?"
    return error


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
            raise _not_found(session, "deal", text, Deal, col(Deal.title), conditions)
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
            raise _not_found(session, kind, text, Contact, col(Contact.name), [live])
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
    if not matches:
        by_domain = select(Company).where(live, col(Company.domain) == text.lower())
        matches = list(session.scalars(by_domain.limit(3)))
    if not matches and loose and text:
        matches = _by_name(session, "company", Company, text, live, removed, loose_only=True)
    found = _one(session, "company", ref, list(matches), lambda c: c.name, "use the id")
    if found is None:
        kind = "removed company" if removed else "company"
        if not loose:
            raise NotFound(kind, ref)
        raise _not_found(session, kind, text, Company, col(Company.name), [live])
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
