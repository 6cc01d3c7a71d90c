"""Full-text search over contacts, companies, deals and the interaction log.

What is indexed, per kind (each a column of tokens made by `crm_cli.domain.text`):
- contact, company: `search_name` (the name) and `search_doc` (emails, phones, fields...);
- deal: `search_name`, its title;
- interaction: `search_doc`, its summary and body. Searched only when asked for (`--all-fields`
  or `--kind interaction`): notes are long and full of common words, so a plain search for a
  name would drown in every call that mentioned it.

SQLite: FTS5 tables (`contact_fts`, `company_fts`, `deal_fts`, `interaction_fts`) kept in step
by triggers. PostgreSQL: GIN indexes on the `simple` tsvector of the same columns (for deals and
interactions partial on live rows). A query is tokenised by the same code as the records:
every query token must match a token's prefix, so the same query finds the same records on both
databases.

Ranking: a match in the name counts for more than one in emails, phones or fields; a deal's
title is its name; a note counts least. Only live records are indexed: removing a record takes
it out of the index, restoring puts it back.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnClause,
    Select,
    and_,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain.text import fold, index_tokens, query_tokens
from crm_cli.errors import InvalidValue
from crm_cli.store.models import Company, Contact

if TYPE_CHECKING:
    from crm_cli.services.context import Context

# Every kind search knows, in the order results of equal standing are listed.
KINDS = ("contact", "company", "deal", "interaction")
# What a search looks through unless told otherwise: not the notes of the interaction log.
DEFAULT_KINDS = ("contact", "company", "deal")
# Kinds whose index has a name part and a rest (`search_name`, `search_doc`); the others have
# a single token column.
_TWO_PART: dict[str, type[Contact] | type[Company]] = {"contact": Contact, "company": Company}
_SINGLE_COLUMN = {"deal": "search_name", "interaction": "search_doc"}
# The field a result shows as its name.
_NAME_KEY = {"deal": "title", "interaction": "summary"}
# Deals and notes ranked by relevance: at most this many of the newest matches.
POOL = 1000
# How far into a note's text a snippet starts before the match, and how long it may be.
_SNIPPET_LEAD = 20
_SNIPPET_MAX = 80


def _fts5_query(tokens: list[str]) -> str:
    return " ".join(f'"{t}"*' for t in tokens)


def _ts_query(tokens: list[str]) -> str:
    return " & ".join(f"'{t}':*" for t in tokens)


def _tokens(query: str) -> list[str]:
    tokens = query_tokens(query)
    if not tokens:
        raise InvalidValue("search", query, "give at least one letter or digit to search for")
    return tokens


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """The kinds asked for (`contact`, `deal`...), each once, in the order given."""
    chosen: list[str] = []
    for kind in kinds:
        name = kind.strip().lower()
        if name not in KINDS:
            raise InvalidValue("kind", kind, f"must be one of {', '.join(KINDS)}")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise InvalidValue("kind", "", f"name at least one of {', '.join(KINDS)}")
    return tuple(chosen)


def _single_model(kind: str) -> Any:
    from crm_cli.store.sales import Deal, Interaction  # contact commands skip the sales tables

    return {"deal": Deal, "interaction": Interaction}[kind]


def _simple() -> ColumnClause[str]:
    return literal_column("'simple'::regconfig")


def _single_document(kind: str) -> Any:
    """The expression PostgreSQL's `ix_{kind}_search` index is built on (store/ddl.py)."""
    model = _single_model(kind)
    return func.to_tsvector(_simple(), getattr(model, _SINGLE_COLUMN[kind]))


def ranked_ids(session: Session, kind: str, query: str, limit: int) -> list[tuple[int, float]]:
    """Ids of live records matching `query`, best first, with a score (higher is better)."""
    tokens = _tokens(query)
    if kind in _SINGLE_COLUMN:
        return _ranked_single(session, kind, tokens, limit)
    return _ranked_two_part(session, kind, tokens, limit)


def _ranked_single(
    session: Session, kind: str, tokens: list[str], limit: int
) -> list[tuple[int, float]]:
    """Deals by title, interactions by note: the newest `POOL` matches, ranked by relevance
    (FTS5's bm25, PostgreSQL's ts_rank), then by id.

    A word in one title of twelve matches 80,000 of a million deals; ranking them all took
    180 ms on SQLite and 0.85 s on PostgreSQL (4 s for 90,000 notes, whose tsvector
    PostgreSQL rebuilds from the row to rank it). Taking the newest matches first is cheap on
    both (FTS5 walks its index backwards and stops; PostgreSQL collects ids from the index
    without rebuilding anything): 21 ms and 0.3 s. A search that broad is after recent
    records anyway. A query with fewer matches than the pool is ranked whole, and both
    databases rank the same set.
    """
    if session.get_bind().dialect.name == "sqlite":
        fts = f"{kind}_fts"
        rows = session.execute(
            text(
                f"SELECT rowid, -bm25({fts}) FROM {fts} WHERE {fts} MATCH :q AND rowid >= ("
                f"SELECT coalesce(min(rowid), 0) FROM (SELECT rowid FROM {fts} "
                f"WHERE {fts} MATCH :q ORDER BY rowid DESC LIMIT :pool)) "
                f"ORDER BY bm25({fts}), rowid LIMIT :limit"
            ),
            {"q": _fts5_query(tokens), "pool": POOL, "limit": limit},
        ).all()
        return [(int(r[0]), 1.0 + float(r[1])) for r in rows]
    model = _single_model(kind)
    doc = _single_document(kind)
    tsq = func.to_tsquery(_simple(), _ts_query(tokens))
    # MATERIALIZED: left to itself, PostgreSQL would read the primary key backwards and
    # test every row until it had the pool, 18 s for a word no deal has.
    matches = (
        select(col(model.id).label("id"))
        .where(doc.op("@@")(tsq), col(model.deleted_at).is_(None))
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    pool = select(matches.c.id).order_by(matches.c.id.desc()).limit(POOL).cte("pool")
    score = func.ts_rank(doc, tsq)
    found = session.execute(
        select(col(model.id), score)
        .join(pool, pool.c.id == col(model.id))
        .order_by(score.desc(), col(model.id))
        .limit(limit)
    ).all()
    return [(int(r[0]), 1.0 + float(r[1])) for r in found]


def _ranked_two_part(
    session: Session, kind: str, tokens: list[str], limit: int
) -> list[tuple[int, float]]:
    """Two passes keep this fast when a word is everywhere ("acme" in 10,000 emails): records
    whose *name* matches are ranked by relevance; the rest, if room is left, follow by id
    without ranking (a relevance sort over every match is what made such queries slow).
    """
    model = _TWO_PART[kind]
    if session.get_bind().dialect.name == "sqlite":
        fts = f"{kind}_fts"
        q_name = "search_name : (" + _fts5_query(tokens) + ")"
        named = session.execute(
            text(
                f"SELECT rowid, -bm25({fts}) FROM {fts} WHERE {fts} MATCH :q "
                "ORDER BY bm25(" + fts + "), rowid LIMIT :limit"
            ),
            {"q": q_name, "limit": limit},
        ).all()
        hits = [(int(r[0]), 1.0 + float(r[1])) for r in named]
        if len(hits) < limit:
            seen = {h[0] for h in hits}
            rest = session.execute(
                text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :q ORDER BY rowid LIMIT :limit"),
                {"q": _fts5_query(tokens), "limit": limit + len(hits)},
            ).all()
            hits.extend((int(r[0]), 0.0) for r in rest if int(r[0]) not in seen)
        return hits[:limit]
    tsq = func.to_tsquery(_simple(), _ts_query(tokens))
    name_doc = func.to_tsvector(_simple(), col(model.search_name))
    score = func.ts_rank(name_doc, tsq)
    named_rows = session.execute(
        select(col(model.id), score)
        .where(name_doc.op("@@")(tsq), col(model.deleted_at).is_(None))
        .order_by(score.desc(), col(model.id))
        .limit(limit)
    ).all()
    hits = [(int(r[0]), 1.0 + float(r[1])) for r in named_rows]
    if len(hits) < limit:
        seen = {h[0] for h in hits}
        doc = func.to_tsvector(_simple(), col(model.search_name) + " " + col(model.search_doc))
        rest_rows = session.execute(
            select(col(model.id))
            .where(doc.op("@@")(tsq), col(model.deleted_at).is_(None))
            .order_by(col(model.id))
            .limit(limit + len(hits))
        ).all()
        hits.extend(
            (int(rid), 0.0) for (rid,) in rest_rows if rid is not None and int(rid) not in seen
        )
    return hits[:limit]


def matching_ids(session: Session, kind: str, query: str) -> Select[Any]:
    """A subquery of all ids matching `query`, for use as a listing filter.

    Only live records are in the search index, so removed ones are never matched.
    """
    tokens = _tokens(query)
    if session.get_bind().dialect.name == "sqlite":
        return (
            select(literal_column("rowid"))
            .select_from(text(f"{kind}_fts"))
            .where(text(f"{kind}_fts MATCH :fts_q").bindparams(fts_q=_fts5_query(tokens)))
        )
    tsq = func.to_tsquery(_simple(), _ts_query(tokens))
    if kind in _SINGLE_COLUMN:
        single = _single_model(kind)
        return select(col(single.id)).where(
            _single_document(kind).op("@@")(tsq), col(single.deleted_at).is_(None)
        )
    model = _TWO_PART[kind]
    doc = func.to_tsvector(_simple(), col(model.search_name) + " " + col(model.search_doc))
    return select(col(model.id)).where(doc.op("@@")(tsq))


def matching(session: Session, kind: str, query: str) -> Any:
    """A condition on `kind`'s own table: the live records matching `query`, for a listing's
    WHERE (removed records are never matched, as with `matching_ids`).

    On PostgreSQL the search applies to the listed row itself. As `id IN (matching_ids)` it
    was a second scan of the table joined back by primary key: `deal list --search "deal 4"`
    looked up 50,000 deals one by one to count 10,000 open ones (270 ms; the GIN index
    alone takes 90). On SQLite the search index is its own table, read by rowid."""
    if session.get_bind().dialect.name == "sqlite":
        model: Any = _TWO_PART[kind] if kind in _TWO_PART else _single_model(kind)
        return col(model.id).in_(matching_ids(session, kind, query))
    tsq = func.to_tsquery(_simple(), _ts_query(_tokens(query)))
    if kind in _SINGLE_COLUMN:
        single = _single_model(kind)
        return and_(_single_document(kind).op("@@")(tsq), col(single.deleted_at).is_(None))
    two = _TWO_PART[kind]
    doc = func.to_tsvector(_simple(), col(two.search_name) + " " + col(two.search_doc))
    return and_(doc.op("@@")(tsq), col(two.deleted_at).is_(None))


def _token_text(kind: str) -> Any:
    """`kind`'s tokens as one text with a space before each (the columns the index holds)."""
    if kind in _SINGLE_COLUMN:
        model = _single_model(kind)
        return literal(" ") + getattr(model, _SINGLE_COLUMN[kind])
    two = _TWO_PART[kind]
    return literal(" ") + col(two.search_name) + literal(" ") + col(two.search_doc)


def matching_words(session: Session, kind: str, query: str) -> Any:
    """The search checked on each row read instead of in the index: every word of `query`
    begins a word of the row's tokens (the text the index is made from: tokens joined by
    spaces, crm_cli.domain.text). The same rule as `matching`, for live rows.

    For a page whose matches are many: a listing read in its own order then finds its page
    within a few hundred rows, where the index would first gather every match (at a million
    deals "deal 4" has 111,000: 40 ms on SQLite, 220 on PostgreSQL). With few matches
    the rows between them are many, and `matching` is the cheaper."""
    words = _token_text(kind)
    model: Any = _TWO_PART[kind] if kind in _TWO_PART else _single_model(kind)
    # A position, not LIKE: PostgreSQL guesses a LIKE pattern so rare that it sorted the
    # stage's every match rather than read the index in order (715 ms against 12).
    find = func.instr if session.get_bind().dialect.name == "sqlite" else func.strpos
    return and_(
        col(model.deleted_at).is_(None),
        *[find(words, f" {token}") > 0 for token in _tokens(query)],
    )


def count_upto(
    session: Session, kind: str, query: str, listed: Select[Any], cap: int
) -> tuple[int, bool]:
    """How many rows of `listed` (a select of `kind`, without the search) match `query`,
    counting no further than `cap`: (count, more than cap), as `common.count_upto`.

    On SQLite the count walks the search index in its own order and looks each match up,
    so it stops at the cap: as `id IN (matches)`, SQLite gathers every match first (the
    111,000 of "deal 4" at a million deals). The index gives a short prefix as one list
    (migration 0015_search_and_board), which is what lets it stop early."""
    from crm_cli.services import common

    if session.get_bind().dialect.name != "sqlite":
        return common.count_upto(session, listed.where(matching(session, kind, query)), cap)
    model: Any = _TWO_PART[kind] if kind in _TWO_PART else _single_model(kind)
    fts = table(f"{kind}_fts", column("rowid"))
    inner = (
        listed.order_by(None)
        .with_only_columns(literal(1))
        .select_from(fts)
        .join(model, col(model.id) == fts.c.rowid)
        .where(text(f"{kind}_fts MATCH :fts_q").bindparams(fts_q=_fts5_query(_tokens(query))))
        .limit(cap + 1)
        .subquery()
    )
    n = int(session.scalar(select(func.count()).select_from(inner)) or 0)
    return min(n, cap), n > cap


def search(
    session: Session,
    query: str,
    *,
    kinds: Sequence[str] | None = None,
    all_fields: bool = False,
    limit: int = 20,
    ctx: Context | None = None,
) -> list[dict[str, Any]]:
    """Records matching `query`, best matches first, each as
    `{kind, id, name, detail, score, match, record}`.

    `kinds` defaults to contacts, companies and deals, and to the interaction log too with
    `all_fields`; naming `interaction` searches the log whatever `all_fields` says. Searching
    the log needs `ctx` (its times are shown in the user's zone).
    """
    chosen: tuple[str, ...]
    if kinds is None:
        chosen = KINDS if all_fields else DEFAULT_KINDS
    else:
        chosen = check_kinds(kinds)
    tokens = _tokens(query)
    hits: list[tuple[float, str, int]] = []
    for kind in chosen:
        hits.extend((score, kind, rid) for rid, score in ranked_ids(session, kind, query, limit))
    ids: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for _, kind, rid in hits:
        ids[kind].append(rid)
    by_key: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, rid_list in ids.items():
        if rid_list:
            for rec in _records(session, kind, rid_list, ctx):
                by_key[(kind, rec["id"])] = rec
    results: list[dict[str, Any]] = []
    for score, kind, rid in hits:
        found = by_key.get((kind, rid))
        if found is None:
            continue  # the index and the table agree within a transaction; a guard only
        rec = found
        name = str(rec[_NAME_KEY.get(kind, "name")])
        results.append(
            {
                "kind": kind,
                "id": rid,
                "name": name,
                "detail": _detail(kind, rec, tokens),
                "score": round(score, 4),
                "match": "note" if kind == "interaction" else _tier(query, tokens, name),
                "record": rec,
            }
        )
    # Scores of different indexes do not compare; the kind of match does. Then the score.
    order = {"exact": 0, "name": 1, "other": 2, "note": 3}
    rank = {kind: i for i, kind in enumerate(KINDS)}
    results.sort(key=lambda r: (order[r["match"]], -r["score"], rank[r["kind"]], r["id"]))
    return results[:limit]


def _records(
    session: Session, kind: str, ids: list[int], ctx: Context | None
) -> list[dict[str, Any]]:
    """The plain records of some ids of one kind, as that kind's own listing shows them."""
    if kind == "contact":
        from crm_cli.services import contacts

        found = session.scalars(select(Contact).where(col(Contact.id).in_(ids))).all()
        return contacts.records(session, list(found))
    if kind == "company":
        from crm_cli.services import companies

        firms = session.scalars(select(Company).where(col(Company.id).in_(ids))).all()
        return companies.records(session, list(firms))
    model = _single_model(kind)
    rows = list(
        session.scalars(
            select(model).where(col(model.id).in_(ids), col(model.deleted_at).is_(None))
        ).all()
    )
    if kind == "deal":
        from crm_cli.services import deals

        return deals.records(session, rows)
    from crm_cli.services.interactions import interaction_records

    if ctx is None:
        raise ValueError("searching the interaction log needs the context (its time zone)")
    return interaction_records(ctx, session, rows)


def _tier(query: str, tokens: list[str], name: str) -> str:
    if fold(" ".join(query.split())) == fold(name):
        return "exact"
    name_tokens = index_tokens(name).split()
    if all(any(t.startswith(q) for t in name_tokens) for q in tokens):
        return "name"
    return "other"


def _detail(kind: str, rec: dict[str, Any], tokens: list[str]) -> str:
    parts: list[str | None]
    if kind == "contact":
        parts = [rec["emails"][0] if rec["emails"] else None, rec.get("company"), rec.get("title")]
    elif kind == "company":
        parts = [rec.get("domain"), rec.get("industry")]
    elif kind == "deal":
        from crm_cli.domain.money import format_money

        parts = [rec["stage"], format_money(int(rec["value_minor"]), rec["currency"])]
    else:
        # The day, then where the note matched, or else who it was with.
        day = (rec.get("occurred_at") or "")[:10] or None
        snippet = snippet_of(rec.get("body") or "", tokens)
        parts = [day, snippet or rec.get("contact") or rec.get("deal")]
    return " · ".join(p for p in parts if p)


def snippet_of(note: str, tokens: list[str], limit: int = _SNIPPET_MAX) -> str | None:
    """The part of `note` where the first query token matches, on one line, starting a little
    before the match (with "…" when the note goes on before or after), at most `limit`
    terminal cells; None without a match.

    A table cuts it further to its cell; this bound keeps a pasted email thread out of piped
    output and JSON details.
    """
    if not note:
        return None
    flat = " ".join(note.split())
    folded = fold(flat)
    at = _first_match(folded, tokens)
    if at is None:
        return None
    if len(folded) != len(flat):  # folding changed lengths (ß -> ss): no exact position
        at = 0
    start = 0
    if at > _SNIPPET_LEAD:
        # Back to a word start a little before the match (or mid-run for CJK text).
        space = flat.rfind(" ", 0, at - _SNIPPET_LEAD // 2)
        start = space + 1 if space >= at - 2 * _SNIPPET_LEAD else at - _SNIPPET_LEAD
    head = "…" if start > 0 else ""
    piece: list[str] = []
    used = 0
    for ch in flat[start:]:
        used += 2 if _wide(ch) else 1  # terminal cells: a CJK character takes two
        if used > limit - 1:
            return head + "".join(piece).rstrip() + "…"
        piece.append(ch)
    return head + "".join(piece)


def _wide(ch: str) -> bool:
    """A CJK character: its runs have no spaces, so a match may start anywhere in them."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _first_match(folded: str, tokens: list[str]) -> int | None:
    """Where in `folded` some query token first matches a token of the text: at a word start
    for a letter or digit token, anywhere for a CJK one (its runs have no word starts)."""
    best: int | None = None
    for token in tokens:
        index = folded.find(token)
        while index >= 0:
            if index == 0 or not folded[index - 1].isalnum() or _wide(folded[index]):
                break
            index = folded.find(token, index + 1)
        if index >= 0 and (best is None or index < best):
            best = index
    return best
