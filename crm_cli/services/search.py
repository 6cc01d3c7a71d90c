"""Full-text search over contacts and companies.

SQLite: FTS5 tables (`contact_fts`, `company_fts`) kept in step by triggers. PostgreSQL: a GIN
index on the `simple` tsvector of the same columns. The columns hold tokens made by
`crm_cli.domain.text`, and a query is tokenised by the same code: every query token must
match a token's prefix, so the same query finds the same records on both databases.

Ranking: a match in the name counts for more than one in emails, phones or fields.
Only live records are indexed: removing a contact takes it out of the index, restoring puts
it back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnClause, Select, func, literal_column, select, text
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain.text import fold, index_tokens, query_tokens
from crm_cli.errors import InvalidValue
from crm_cli.store.models import Company, Contact

_MODELS: dict[str, type[Contact] | type[Company]] = {"contact": Contact, "company": Company}


def _fts5_query(tokens: list[str]) -> str:
    return " ".join(f'"{t}"*' for t in tokens)


def _ts_query(tokens: list[str]) -> str:
    return " & ".join(f"'{t}':*" for t in tokens)


def _tokens(query: str) -> list[str]:
    tokens = query_tokens(query)
    if not tokens:
        raise InvalidValue("search", query, "give at least one letter or digit to search for")
    return tokens


def ranked_ids(session: Session, kind: str, query: str, limit: int) -> list[tuple[int, float]]:
    """Ids of live records matching `query`, best first, with a score (higher is better).

    Two passes keep this fast when a word is everywhere ("acme" in 10,000 emails): records
    whose *name* matches are ranked by relevance; the rest, if room is left, follow by id
    without ranking (a relevance sort over every match is what made such queries slow).
    """
    model = _MODELS[kind]
    tokens = _tokens(query)
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
    simple: ColumnClause[str] = literal_column("'simple'::regconfig")
    tsq = func.to_tsquery(simple, _ts_query(tokens))
    name_doc = func.to_tsvector(simple, col(model.search_name))
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
        doc = func.to_tsvector(simple, col(model.search_name) + " " + col(model.search_doc))
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
    model = _MODELS[kind]
    if session.get_bind().dialect.name == "sqlite":
        return (
            select(literal_column("rowid"))
            .select_from(text(f"{kind}_fts"))
            .where(text(f"{kind}_fts MATCH :fts_q").bindparams(fts_q=_fts5_query(tokens)))
        )
    doc = func.to_tsvector(
        literal_column("'simple'::regconfig"), col(model.search_name) + " " + col(model.search_doc)
    )
    tsq = func.to_tsquery(literal_column("'simple'::regconfig"), _ts_query(tokens))
    return select(col(model.id)).where(doc.op("@@")(tsq))


def search(
    session: Session,
    query: str,
    *,
    kinds: tuple[str, ...] = ("contact", "company"),
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Contacts and companies matching `query`, best matches first."""
    from crm_cli.services import companies, contacts

    hits: list[tuple[float, str, int]] = []
    for kind in kinds:
        hits.extend((score, kind, rid) for rid, score in ranked_ids(session, kind, query, limit))
    hits.sort(key=lambda h: (-h[0], h[1], h[2]))
    contact_ids = [rid for _, kind, rid in hits if kind == "contact"]
    company_ids = [rid for _, kind, rid in hits if kind == "company"]
    by_key: dict[tuple[str, int], dict[str, Any]] = {}
    if contact_ids:
        found = session.scalars(select(Contact).where(col(Contact.id).in_(contact_ids))).all()
        for rec in contacts.records(session, list(found)):
            by_key[("contact", rec["id"])] = rec
    if company_ids:
        found_companies = session.scalars(
            select(Company).where(col(Company.id).in_(company_ids))
        ).all()
        for rec in companies.records(session, list(found_companies)):
            by_key[("company", rec["id"])] = rec
    tokens = query_tokens(query)
    results = []
    for score, kind, rid in hits:
        rec = by_key[(kind, rid)]
        results.append(
            {
                "kind": kind,
                "id": rid,
                "name": rec["name"],
                "detail": _detail(kind, rec),
                "score": round(score, 4),
                "match": _tier(query, tokens, rec["name"]),
                "record": rec,
            }
        )
    # Scores of different indexes do not compare; the kind of match does. Then the score.
    order = {"exact": 0, "name": 1, "other": 2}
    results.sort(key=lambda r: (order[r["match"]], -r["score"], r["kind"], r["id"]))
    return results[:limit]


def _tier(query: str, tokens: list[str], name: str) -> str:
    if fold(" ".join(query.split())) == fold(name):
        return "exact"
    name_tokens = index_tokens(name).split()
    if all(any(t.startswith(q) for t in name_tokens) for q in tokens):
        return "name"
    return "other"


def _detail(kind: str, rec: dict[str, Any]) -> str:
    if kind == "contact":
        parts = [rec["emails"][0] if rec["emails"] else None, rec.get("company"), rec.get("title")]
    else:
        parts = [rec.get("domain"), rec.get("industry")]
    return " · ".join(p for p in parts if p)
