"""Full-text search over contacts and companies.

SQLite: FTS5 tables (`contact_fts`, `company_fts`) kept in step by triggers. PostgreSQL: a GIN
index on the `simple` tsvector of the same columns. The columns hold tokens made by
`crm_cli.domain.text`, and a query is tokenised by the same code: every query token must
match a token's prefix, so the same query finds the same records on both databases.

Ranking: a match in the name counts for more than one in emails, phones or fields.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, literal_column, select, text
from sqlalchemy.orm import Session

from crm_cli.domain.text import fold, index_tokens, query_tokens
from crm_cli.errors import InvalidValue
from crm_cli.store.models import Company, Contact

_MODELS: dict[str, Any] = {"contact": Contact, "company": Company}


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
    """Ids of live records matching `query`, best first, with a score (higher is better)."""
    model = _MODELS[kind]
    tokens = _tokens(query)
    if session.get_bind().dialect.name == "sqlite":
        fts = f"{kind}_fts"
        # bm25 is lower-is-better; weight the name column ten times the rest.
        stmt = text(
            f"SELECT f.rowid, -bm25({fts}, 10.0, 1.0) AS score FROM {fts} f "
            f"JOIN {kind} t ON t.id = f.rowid "
            f"WHERE {fts} MATCH :q AND t.deleted_at IS NULL "
            "ORDER BY score DESC, f.rowid LIMIT :limit"
        )
        rows = session.execute(stmt, {"q": _fts5_query(tokens), "limit": limit}).all()
    else:
        doc = func.to_tsvector(literal_column("'simple'::regconfig"),
                               model.search_name + " " + model.search_doc)
        name_doc = func.to_tsvector(literal_column("'simple'::regconfig"), model.search_name)
        tsq = func.to_tsquery(literal_column("'simple'::regconfig"), _ts_query(tokens))
        score = (func.ts_rank(doc, tsq) + 10 * func.ts_rank(name_doc, tsq)).label("score")
        stmt2: Select[Any] = (
            select(model.id, score)
            .where(doc.op("@@")(tsq), model.deleted_at.is_(None))
            .order_by(score.desc(), model.id)
            .limit(limit)
        )
        rows = session.execute(stmt2).all()
    return [(int(r[0]), float(r[1])) for r in rows]


def matching_ids(session: Session, kind: str, query: str) -> Select[Any]:
    """A subquery of all ids matching `query`, for use as a listing filter."""
    tokens = _tokens(query)
    model = _MODELS[kind]
    if session.get_bind().dialect.name == "sqlite":
        return select(literal_column("rowid")).select_from(text(f"{kind}_fts")).where(
            text(f"{kind}_fts MATCH :fts_q").bindparams(fts_q=_fts5_query(tokens)))
    doc = func.to_tsvector(literal_column("'simple'::regconfig"),
                           model.search_name + " " + model.search_doc)
    tsq = func.to_tsquery(literal_column("'simple'::regconfig"), _ts_query(tokens))
    return select(model.id).where(doc.op("@@")(tsq))


def search(session: Session, query: str, *, kinds: tuple[str, ...] = ("contact", "company"),
           limit: int = 20) -> list[dict[str, Any]]:
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
        found = session.scalars(select(Contact).where(Contact.id.in_(contact_ids))).all()
        for rec in contacts.records(session, list(found)):
            by_key[("contact", rec["id"])] = rec
    if company_ids:
        for company in session.scalars(select(Company).where(Company.id.in_(company_ids))):
            rec = companies.company_record(session, company)
            by_key[("company", rec["id"])] = rec
    tokens = query_tokens(query)
    results = []
    for score, kind, rid in hits:
        rec = by_key[(kind, rid)]
        results.append({"kind": kind, "id": rid, "name": rec["name"],
                        "detail": _detail(kind, rec), "score": round(score, 4),
                        "match": _tier(query, tokens, rec["name"]), "record": rec})
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
