"""Reading deals: the detail view with its stage history, and listings with filters, the
board order and totals over every match.

Stays fast on large tables: totals come from one aggregate query answered from the index
`ix_deal_totals` alone, and the default order (board order, then close date) is read stage by
stage from `ix_deal_stage_close`, so a page costs the same with ten deals or a million.

Apart from `deals` (the rules of a deal's life, its writes) because reading shares none of
them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, case, exists, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain import money
from crm_cli.errors import InvalidValue
from crm_cli.services import common
from crm_cli.services.deals import STATUSES, close_date, records
from crm_cli.services.lookups import find_company, find_contact, find_deal
from crm_cli.services.pipelines import OPEN, Board, load_board, not_found
from crm_cli.services.users import resolve_user, user_names
from crm_cli.store.models import Tag
from crm_cli.store.sales import Deal, DealTag, Stage, StageChange

if TYPE_CHECKING:
    from sqlalchemy.sql import Select

    from crm_cli.services.context import Context


def _check_status(value: str) -> str | None:
    status = value.strip().lower()
    if status == "all":
        return None
    if status not in STATUSES:
        raise InvalidValue("status", value, "must be open, won, lost or all")
    return status


def deal_detail(ctx: Context, session: Session, deal_id: int) -> dict[str, Any]:
    """Everything `deal show` presents: the deal's record plus "stage_changes" (oldest first,
    the creation included, with "from" None). Other sections (follow-ups, interactions,
    feedback) are added here as keys holding lists of records."""
    deal = find_deal(session, deal_id)
    board = load_board(session)
    record = records(session, [deal], board)[0]
    changes = session.execute(
        select(
            col(StageChange.from_stage_id),
            col(StageChange.to_stage_id),
            col(StageChange.changed_at),
            col(StageChange.user_id),
        )
        .where(col(StageChange.deal_id) == deal_id)
        .order_by(col(StageChange.changed_at), col(StageChange.id))
    ).all()
    users = user_names(session, {u for *_rest, u in changes if u is not None})
    record["stage_changes"] = [
        {
            "from": board.stages[frm].name if frm is not None else None,
            "to": board.stages[to].name,
            "at": common.iso(at, common.zone(session)),
            "by": users.get(uid) if uid is not None else None,
        }
        for frm, to, at, uid in changes
    ]
    return record


@dataclass
class DealFilter:
    stage: str | None = None
    status: str | None = None  # open, won, lost, all; None: open (or the --stage's)
    owner: str | None = None
    owner_id: int | None = None
    contact: str | None = None
    company: str | None = None
    pipeline: str | None = None
    close_before: str | None = None
    close_after: str | None = None
    min_value: str | None = None
    currency: str | None = None
    tags: list[str] = field(default_factory=list)
    search: str | None = None
    removed: bool = False
    sort: str | None = None
    limit: int | None = 50
    no_next_step: bool = False  # only deals with no open follow-up (nothing scheduled)
    totals: bool = True  # False: no totals (`--ids` prints none; at a million deals, 0.2 s)


def _min_value(text: str) -> ColumnElement[bool]:
    """value >= AMOUNT, compared in major units across currencies: every value is scaled to 4
    decimals, the most any currency has, so the comparison stays in integers."""
    cleaned = text.strip().replace("_", "").replace(",", "").replace(" ", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidValue("min-value", text, "not a number") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidValue("min-value", text, "must be a number, 0 or more")
    threshold = int(amount.scaleb(4).to_integral_value(rounding=ROUND_CEILING))
    by_exponent: dict[int, list[str]] = {}
    for code, exp in money.EXPONENTS.items():
        if exp != 2:
            by_exponent.setdefault(exp, []).append(code)
    value = col(Deal.value_minor)
    scaled = case(
        *[
            (col(Deal.currency).in_(sorted(codes)), value * 10 ** (4 - exp))
            for exp, codes in sorted(by_exponent.items())
        ],
        else_=value * 100,
    )
    return scaled >= threshold


def _indexed_search(flt: DealFilter) -> str | None:
    """The search text when the search index answers it (live deals, a query with words)."""
    from crm_cli.domain.text import query_tokens

    if not flt.search or not flt.search.strip() or flt.removed:
        return None
    return flt.search if query_tokens(flt.search) else None


def _conditions(
    ctx: Context, session: Session, flt: DealFilter, board: Board, *, indexed: bool = True
) -> tuple[list[ColumnElement[bool]], list[Stage]]:
    """The WHERE clauses of a listing, and the stages it can show in board order. With
    `indexed` False, a search the index answers (`_indexed_search`) is left to the caller."""
    conds: list[ColumnElement[bool]] = [
        col(Deal.deleted_at).is_not(None) if flt.removed else col(Deal.deleted_at).is_(None)
    ]
    status = _check_status(flt.status) if flt.status is not None else (None if flt.stage else OPEN)
    stages = board.ordered()
    if flt.pipeline:
        pipeline = board.pipeline(ctx, flt.pipeline)
        stages = [s for s in stages if s.pipeline_id == pipeline.id]
    if flt.stage:
        # Every stage of that name, one per pipeline, case aside; with accents folded too
        # when none is named so (as `deal move` finds a stage).
        from crm_cli.domain.text import names_matching

        found = names_matching([s.name.lower() for s in stages], flt.stage.lower())
        named = [stages[i] for i in found]
        if not named:
            known = sorted({s.name for s in stages})
            raise not_found("stage", flt.stage, f"stages: {', '.join(known)}")
        stages = named
    if status is not None:
        stages = [s for s in stages if s.kind == status]
    if flt.pipeline or flt.stage or status is not None:
        conds.append(col(Deal.stage_id).in_([s.id for s in stages]))
    if flt.owner:
        conds.append(col(Deal.owner_id) == resolve_user(session, flt.owner))
    if flt.owner_id is not None:
        conds.append(col(Deal.owner_id) == flt.owner_id)
    if flt.contact:
        conds.append(col(Deal.contact_id) == find_contact(session, flt.contact).id)
    if flt.company:
        conds.append(col(Deal.company_id) == find_company(session, flt.company).id)
    if flt.close_before:
        conds.append(col(Deal.expected_close) <= close_date(ctx, flt.close_before, "close-before"))
    if flt.close_after:
        conds.append(col(Deal.expected_close) >= close_date(ctx, flt.close_after, "close-after"))
    if flt.min_value:
        conds.append(_min_value(flt.min_value))
    if flt.currency:
        conds.append(col(Deal.currency) == money.currency_code(flt.currency))
    for tag in flt.tags:
        conds.append(
            col(Deal.id).in_(
                select(col(DealTag.deal_id))
                .join(Tag, col(Tag.id) == col(DealTag.tag_id))
                .where(col(Tag.name) == common.clean_tag(tag))
            )
        )
    if flt.no_next_step:
        from crm_cli.store.sales import Followup

        conds.append(
            ~exists().where(
                col(Followup.deal_id) == col(Deal.id),
                col(Followup.done_at).is_(None),
                col(Followup.deleted_at).is_(None),
            )
        )
    if flt.search and flt.search.strip():
        # The search index holds live deals, and words: else the titles are read.
        query = _indexed_search(flt)
        if query is None:
            text = flt.search.strip().lower()
            conds.append(func.lower(col(Deal.title)).contains(text, autoescape=True))
        elif indexed:
            from crm_cli.services.search import matching

            conds.append(matching(session, "deal", query))
    return conds, stages


def _probability_sql(board: Board) -> ColumnElement[int]:
    """The effective probability in SQL, from the stages in hand rather than a join: the
    deal's own while its stage is open, else the stage's."""
    stage_probability = case(
        {sid: s.probability for sid, s in board.stages.items()}, value=col(Deal.stage_id), else_=0
    )
    open_ids = [sid for sid, s in board.stages.items() if s.kind == OPEN]
    return case(
        (col(Deal.stage_id).in_(open_ids), func.coalesce(col(Deal.probability), stage_probability)),
        else_=stage_probability,
    )


def totals_query(conds: list[ColumnElement[bool]], board: Board) -> Select[int, str, int, int, int]:
    """Per stage and currency: count, value and weighted value. Answered from the index
    ix_deal_totals alone, without reading the table."""
    worth = (col(Deal.value_minor) * _probability_sql(board) + 50) // 100
    return (
        select(
            col(Deal.stage_id),
            col(Deal.currency),
            func.count(),
            func.sum(col(Deal.value_minor)),
            func.sum(worth),
        )
        .where(*conds)
        .group_by(col(Deal.stage_id), col(Deal.currency))
    )


def _totals(
    session: Session, conds: list[ColumnElement[bool]], board: Board, cap: int | None = None
) -> tuple[dict[str, Any], dict[int, int] | None]:
    """Count, value and weighted value per currency over every matching deal, in one query;
    and how many deals each stage holds (the page reader skips empty stages).

    With a `cap` (a page), more matches than that are not summed: a page must cost the same
    at a hundred deals or a million. Then totals are `{"count": cap, "more": True}` with no
    sums, and the stages are not counted (None)."""
    if cap is not None:
        _count, more = common.count_upto(session, select(col(Deal.id)).where(*conds), cap)
        if more:
            return {"count": cap, "more": True, "by_currency": []}, None
    rows = session.execute(totals_query(conds, board)).all()
    per_stage: dict[int, int] = {}
    by_currency: dict[str, list[int]] = {}
    for stage_id, currency, count, value, worth_sum in rows:
        per_stage[int(stage_id)] = per_stage.get(int(stage_id), 0) + int(count)
        sums = by_currency.setdefault(str(currency), [0, 0, 0])
        sums[0] += int(count)
        sums[1] += int(value or 0)
        sums[2] += int(worth_sum or 0)
    totals = {
        "count": sum(per_stage.values()),
        "by_currency": [
            {
                "currency": cur,
                "count": n,
                "value": money.major_number(v, cur),
                "value_minor": v,
                "weighted_value": money.major_number(w, cur),
                "weighted_value_minor": w,
            }
            for cur, (n, v, w) in sorted(by_currency.items())
        ],
    }
    return totals, per_stage


SORTS = ("value", "close", "created", "updated", "title", "stage", "id", "removed")


def _order(sort: str, board: Board) -> list[Any]:
    rank = {sid: i for i, sid in enumerate(s.id for s in board.ordered())}
    columns: dict[str, Any] = {
        "value": col(Deal.value_minor),
        "close": col(Deal.expected_close),
        "created": col(Deal.created_at),
        "updated": col(Deal.updated_at),
        "title": col(Deal.title),
        "id": col(Deal.id),
        "removed": col(Deal.deleted_at),
        "stage": case(rank, value=col(Deal.stage_id), else_=len(rank)),
    }
    clauses: list[Any] = []
    descending: list[bool] = []
    for part in sort.split(","):
        name = part.strip().lstrip("-+")
        if name not in columns:
            raise InvalidValue("sort", sort, f"sort by one of {', '.join(SORTS)}")
        descending.append(part.strip().startswith("-"))
        clause = columns[name].desc() if descending[-1] else columns[name].asc()
        # Deals without a close date come last either way, on SQLite and PostgreSQL alike.
        clauses.append(clause.nulls_last() if name == "close" else clause)
    # Ties by id in the first key's direction: an index that ends in id (ix_deal_live_value)
    # then gives `-value` read backwards, where id ascending made PostgreSQL sort every match.
    return [*clauses, col(Deal.id).desc() if descending[0] else col(Deal.id).asc()]


def stage_page_queries(
    stage_id: int, conds: list[ColumnElement[bool]], limit: int | None
) -> list[Select[Deal]]:
    """The default order within one stage: by close date, then deals without one, each by id.
    Two queries because an index gives NULLs first on SQLite and last on PostgreSQL."""
    base = select(Deal).where(col(Deal.stage_id) == stage_id, *conds)
    dated = base.where(col(Deal.expected_close).is_not(None)).order_by(
        col(Deal.expected_close), col(Deal.id)
    )
    undated = base.where(col(Deal.expected_close).is_(None)).order_by(col(Deal.id))
    if limit is not None:
        dated, undated = dated.limit(limit), undated.limit(limit)
    return [dated, undated]


def stage_ids(
    ctx: Context, session: Session, flt: DealFilter
) -> tuple[dict[int, list[int]], dict[int, list[tuple[str, int, int]]]]:
    """The ids of the matching deals per stage, each in board order (close date, then the
    deals without one), read from the indexes without loading a deal; and per stage its
    (currency, count, value in minor units). The TUI's board under a filter reads this."""
    board = load_board(session)
    conds, stages = _conditions(ctx, session, flt, board)
    ids: dict[int, list[int]] = {}
    for stage in stages:
        found: list[int] = []
        for query in stage_page_queries(stage.id or 0, conds, None):
            found.extend(session.scalars(query.with_only_columns(col(Deal.id))))
        ids[stage.id or 0] = found
    totals: dict[int, list[tuple[str, int, int]]] = {}
    for stage_id, currency, count, value, _worth in session.execute(totals_query(conds, board)):
        totals.setdefault(int(stage_id), []).append((str(currency), int(count), int(value or 0)))
    for parts in totals.values():
        parts.sort()
    return ids, totals


def _searched(
    ctx: Context, session: Session, flt: DealFilter, board: Board, query: str, cap: int
) -> tuple[list[ColumnElement[bool]], list[Stage], dict[str, Any], dict[int, int] | None]:
    """A page's conditions, stages and totals under a search the index answers.

    Counted from the search index up to `cap` (search.count_upto). Below the cap the matches
    are few: summed, and the page read through the index. At the cap the page checks each
    deal it reads against the search instead (search.matching_words): with that many matches
    it reads a few hundred deals, where gathering every match from the index first took
    40 ms on SQLite at a million deals ("deal 4": 111,000 matches)."""
    from crm_cli.services import search

    conds, stages = _conditions(ctx, session, flt, board, indexed=False)
    _count, more = search.count_upto(
        session, "deal", query, select(col(Deal.id)).where(*conds), cap
    )
    if more:
        totals = {"count": cap, "more": True, "by_currency": []}
        return [*conds, search.matching_words(session, "deal", query)], stages, totals, None
    conds.append(search.matching(session, "deal", query))
    totals, per_stage = _totals(session, conds, board)
    return conds, stages, totals, per_stage


@dataclass(frozen=True)
class DealPage(common.Page):
    pipelines: int = 1


def list_deals(ctx: Context, session: Session, flt: DealFilter) -> DealPage:
    """Deals with totals over all that match: a page, or every one streamed (no limit).
    Default: open deals in board order (pipeline, stage), then by close date.
    `pipelines` is how many pipelines the matches span."""
    board = load_board(session)
    cap = None if flt.limit is None else common.COUNT_CAP
    searched = _indexed_search(flt)
    totals: dict[str, Any]
    per_stage: dict[int, int] | None
    if searched is not None and cap is not None:
        conds, stages, totals, per_stage = _searched(ctx, session, flt, board, searched, cap)
    else:
        conds, stages = _conditions(ctx, session, flt, board)
        if flt.totals or flt.limit is not None:
            totals, per_stage = _totals(session, conds, board, cap)
        else:
            totals, per_stage = {"count": None, "by_currency": []}, None
    shown = per_stage if per_stage is not None else {s.id or 0: 1 for s in stages}
    pipelines = len({board.stages[sid].pipeline_id for sid in shown})
    # Removed deals: the latest removed first (what was just removed is what is wanted back),
    # from ix_deal_live_updated; the board order would read each stage's whole close-date index.
    sort = flt.sort or ("-removed" if flt.removed else None)
    if sort:
        queries = [select(Deal).where(*conds).order_by(*_order(sort, board))]
    else:
        # Stage by stage in board order, each read in index order: no sort of the whole set.
        queries = [
            query
            for stage in stages
            if shown.get(stage.id or 0)
            for query in stage_page_queries(stage.id or 0, conds, None)
        ]

    def build(part: Sequence[Deal]) -> list[dict[str, Any]]:
        return records(session, part, board)

    if flt.limit is None:
        count = totals["count"]
        rows = stream_deals(session, board, queries, count)
        return DealPage(rows, None if count is None else int(count), totals, pipelines=pipelines)
    total, more = int(totals["count"]), bool(totals.get("more"))
    deals: list[Deal] = []
    for query in queries:
        left = flt.limit - len(deals)
        if left == 0:
            break
        deals.extend(session.scalars(query.limit(left)))
    return DealPage(build(deals), total, totals, more, pipelines=pipelines)


# --- streaming every match ---------------------------------------------------------------------
#
# A script's `deal list --all --json` may list a million deals. Each is read as one plain row
# of one statement (the contact's and company's names joined in, the tags gathered by a
# subquery), with the stage, pipeline and owner names from lookups made once, and the times
# converted to the user's zone through a cache of each hour's offset. The record is the one
# `deals.deal_record` makes, key for key; its JSON text is built straight from the row.

_TAG_SEP = "\x1f"  # a tag holds no control character (common.clean_tag)


def _tags_sql(dialect: str) -> Any:
    """The deal's tag names in one text, separated by _TAG_SEP, ordered by name (None: no tag)."""
    from sqlalchemy import literal_column

    if dialect == "postgresql":
        return literal_column(
            "(SELECT string_agg(tag.name, chr(31) ORDER BY tag.name) FROM deal_tag"
            " JOIN tag ON tag.id = deal_tag.tag_id WHERE deal_tag.deal_id = deal.id)"
        )
    # SQLite's group_concat keeps no promised order: the names are sorted when read.
    return literal_column(
        "(SELECT group_concat(tag.name, char(31)) FROM deal_tag"
        " JOIN tag ON tag.id = deal_tag.tag_id WHERE deal_tag.deal_id = deal.id)"
    )


def _row_query(query: Select[Any], dialect: str, joined: bool = True) -> Any:
    """`query` (select(Deal), filtered and ordered) reading the columns a record needs. Times
    and dates come as text in SQLite's stored form (`common.stored_text`), not through the
    ORM types: on SQLite as the driver gives them, on PostgreSQL written so by the server.

    Not `joined`, the contact's name, the company's name and the tags are left to lookups
    read beforehand (`_lookups`): their columns hold the contact's id, the company's id (0 for
    none) and the deal's id instead."""
    from sqlalchemy import literal

    from crm_cli.store.models import Company, Contact

    def raw(column: Any) -> Any:
        return common.stored_text(col(column), dialect)

    if not joined:
        return query.with_only_columns(
            col(Deal.id),
            col(Deal.title),
            col(Deal.contact_id),
            func.coalesce(col(Deal.contact_id), literal(0)),
            col(Deal.company_id),
            func.coalesce(col(Deal.company_id), literal(0)),
            col(Deal.pipeline_id),
            col(Deal.stage_id),
            col(Deal.status),
            col(Deal.value_minor),
            col(Deal.currency),
            col(Deal.probability),
            raw(Deal.expected_close),
            col(Deal.lost_reason),
            col(Deal.owner_id),
            col(Deal.source),
            col(Deal.external_id),
            col(Deal.id),
            raw(Deal.stage_entered_at),
            raw(Deal.created_at),
            raw(Deal.updated_at),
            raw(Deal.closed_at),
            raw(Deal.deleted_at),
            maintain_column_froms=True,
        )
    return (
        query.with_only_columns(
            col(Deal.id),
            col(Deal.title),
            col(Deal.contact_id),
            col(Contact.name),
            col(Deal.company_id),
            col(Company.name),
            col(Deal.pipeline_id),
            col(Deal.stage_id),
            col(Deal.status),
            col(Deal.value_minor),
            col(Deal.currency),
            col(Deal.probability),
            raw(Deal.expected_close),
            col(Deal.lost_reason),
            col(Deal.owner_id),
            col(Deal.source),
            col(Deal.external_id),
            _tags_sql(dialect),
            raw(Deal.stage_entered_at),
            raw(Deal.created_at),
            raw(Deal.updated_at),
            raw(Deal.closed_at),
            raw(Deal.deleted_at),
            maintain_column_froms=False,
        )
        .select_from(Deal)
        .outerjoin(Contact, col(Contact.id) == col(Deal.contact_id))
        .outerjoin(Company, col(Company.id) == col(Deal.company_id))
    )


# A listing of at least LOOKUP_FROM deals on SQLite reads every contact's and company's name
# and every deal's tags once, before its rows, instead of joining them into each row: at a
# million deals in board order each joined name or tag list is a lookup in another table at
# random, about 3.5 µs of the 16 µs a row cost (half of it reading pages), where the lookups
# take one pass over those tables and a list index a row. Lists by id, not dicts: a dict of
# 100,000 names cost 1.8 µs a row in memory stalls (its slot, key and value at random), a
# list one pointer. Held in memory (8 bytes a slot, about 100 bytes a name), so only while
# the highest contact and company ids stay under LOOKUP_NAMES and the highest deal id under
# LOOKUP_DEALS (at most about 55 MiB). Only where the lookups and the rows are read from one
# snapshot: on SQLite any transaction, on PostgreSQL a session that only reads (REPEATABLE
# READ). There the joins and the tags' subquery were half of the server's 14 µs a row.
LOOKUP_FROM = 50_000
LOOKUP_NAMES = 300_000
LOOKUP_DEALS = 3_000_000


def _lookups_fit(session: Session) -> bool:
    from crm_cli.store.models import Company, Contact

    def top(model: Any) -> int:
        return int(session.scalar(select(func.max(col(model.id)))) or 0)

    return top(Contact) + top(Company) <= LOOKUP_NAMES and top(Deal) <= LOOKUP_DEALS


def _lookups(
    session: Session, quote: Callable[[str], str] | None
) -> tuple[list[Any], list[Any], list[Any]]:
    """Contact name by id, company name by id and tags by deal id, as lists indexed by id
    (index 0: no contact, no company): as JSON text with `quote` (`null`, `[]` when there is
    none), else as the record holds them (None, an empty tuple)."""
    from crm_cli.store.models import Company, Contact

    named: list[list[Any]] = []
    for model in (Contact, Company):
        top = int(session.scalar(select(func.max(col(model.id)))) or 0)
        names: list[Any] = ["null" if quote else None] * (top + 1)
        for part in common.driver_parts(session, select(col(model.id), col(model.name))):
            for i, name in part:
                names[i] = quote(name) if quote else name
        named.append(names)
    top = int(session.scalar(select(func.max(col(Deal.id)))) or 0)
    tags: list[Any] = ["[]" if quote else ()] * (top + 1)
    # Deals sharing a set of tags share its text (a few hundred sets for a million deals).
    shared: dict[tuple[str, ...], Any] = {}
    by_deal = (
        select(col(DealTag.deal_id), col(Tag.name))
        .join(Tag, col(Tag.id) == col(DealTag.tag_id))
        .order_by(col(DealTag.deal_id))
    )

    def keep(deal_id: int, names: list[str]) -> None:
        key = tuple(sorted(names))
        if key not in shared:
            shared[key] = _tags_json(list(key), quote) if quote else key
        tags[deal_id] = shared[key]

    current: int | None = None
    names_of: list[str] = []
    for part in common.driver_parts(session, by_deal):
        for deal_id, name in part:
            if deal_id != current:
                if current is not None:
                    keep(current, names_of)
                current, names_of = deal_id, []
            names_of.append(name)
    if current is not None:
        keep(current, names_of)
    return named[0], named[1], tags


def stream_deals(
    session: Session, board: Board, queries: list[Select[Any]], count: int | None = None
) -> common.RecordStream:
    """Every deal `queries` select, in their order, as a RecordStream of deal records;
    `count`, when known, is how many (a long listing reads names and tags beforehand)."""
    from json.encoder import encode_basestring as quote

    from crm_cli.store.models import User

    dialect = session.get_bind().dialect.name
    owners = {i: str(n) for i, n in session.execute(select(col(User.id), col(User.name))) if i}
    owners_json = {i: quote(n) for i, n in owners.items()}
    pipelines = {p.id: p.name for p in board.pipelines}
    stage_info = {
        sid: (st.name, quote(st.name), st.kind == OPEN, st.probability)
        for sid, st in board.stages.items()
    }
    pipelines_json = {pid: quote(name) for pid, name in pipelines.items()}
    scales = {code: 10**exp for code, exp in money.EXPONENTS.items()}
    # Times come as text in SQLite's stored form on either database (`_row_query`).
    texts = common.TimeText(common.zone(session), "sqlite")
    local, days_since = texts.local, texts.days_since
    sqlite = dialect == "sqlite"
    if not sqlite:
        common.no_jit(session)

    def tags_of(text: str | None) -> list[str]:
        if text is None:
            return []
        # In Python's order, as every record's tags are (not the server's collation).
        return sorted(text.split(_TAG_SEP))

    # The lookups must read the same snapshot as the rows: on PostgreSQL, a session that only
    # reads is one (store.engine.session_scope).
    snapshot = sqlite or not session.info.get("write", True)
    joined = not snapshot or count is None or count < LOOKUP_FROM or not _lookups_fit(session)

    def parts() -> Iterator[Sequence[Any]]:
        for query in queries:
            # Plain rows: the ORM's loading added ~6 µs a row, a Row object ~2 µs.
            yield from common.driver_parts(session, _row_query(query, dialect, joined))

    # How a row's contact, company and tags columns become the record's: joined, they hold
    # the names and the tags' text; else the ids to look up (`_lookups`).
    def same(value: Any) -> Any:
        return value

    def to_json(value: str | None) -> str:
        return "null" if value is None else quote(value)

    def tags_to_json(text: str | None) -> str:
        return "[]" if text is None else _tags_json(tags_of(text), quote)

    def row_parts(
        json: bool,
    ) -> tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]:
        """(contact, company, tags) from a row's columns, as JSON text or record values."""
        if joined:
            return (to_json, to_json, tags_to_json) if json else (same, same, tags_of)
        contacts, companies, tags = _lookups(session, quote if json else None)
        if json:
            return contacts.__getitem__, companies.__getitem__, tags.__getitem__
        return contacts.__getitem__, companies.__getitem__, lambda d: list(tags[d])

    def id_parts() -> Iterator[Sequence[int]]:
        for query in queries:
            ids = query.with_only_columns(col(Deal.id), maintain_column_froms=True)
            for part in common.driver_parts(session, ids):
                yield [row[0] for row in part]

    def day(value: Any) -> Any:
        return value if value is None or value.__class__ is str else value.isoformat()

    record_parts: list[Any] = []

    def build(part: Sequence[Any], times: bool = True) -> list[dict[str, Any]]:
        if not record_parts:
            record_parts.extend(row_parts(json=False))
        contact_of, company_of, tag_list = record_parts
        out = []
        for (
            did, title, contact_id, contact, company_id, company, pipeline_id, stage_id,
            status, value_minor, currency, own, close, lost_reason, owner_id, source,
            external_id, tags, entered, created, updated, closed, deleted,
        ) in part:  # fmt: skip
            stage_name, _quoted, is_open, stage_probability = stage_info[stage_id]
            probability = own if own is not None and is_open else stage_probability
            worth = (value_minor * probability + 50) // 100
            unit = scales[currency]
            out.append(
                {
                    "id": did,
                    "title": title,
                    "contact_id": contact_id,
                    "contact": contact_of(contact),
                    "company_id": company_id,
                    "company": company_of(company),
                    "pipeline_id": pipeline_id,
                    "pipeline": pipelines[pipeline_id],
                    "stage": stage_name,
                    "stage_id": stage_id,
                    "status": status,
                    "value": value_minor / unit if value_minor % unit else value_minor // unit,
                    "currency": currency,
                    "value_minor": value_minor,
                    "probability": probability,
                    "probability_override": own,
                    "weighted_value": worth / unit if worth % unit else worth // unit,
                    "expected_close": day(close),
                    "lost_reason": lost_reason,
                    "owner_id": owner_id,
                    "owner": owners.get(owner_id or 0),
                    "source": source,
                    "external_id": external_id,
                    "tags": tag_list(tags),
                    "days_in_stage": days_since(entered),
                }
            )
            if times:
                out[-1].update(
                    created_at=local(created),
                    updated_at=local(updated),
                    closed_at=local(closed),
                    deleted_at=local(deleted),
                )
        return out

    def records_with(keys: frozenset[str]) -> Callable[[Sequence[Any]], list[dict[str, Any]]]:
        if keys & {"created_at", "updated_at", "closed_at", "deleted_at"}:
            return build
        return lambda part: build(part, times=False)

    json_time, json_hours, day_counts, clock = (
        texts.json,
        texts.json_hours,
        texts.day_counts,
        texts.clock,
    )
    # Times as text ("YYYY-MM-DD HH:MM:SS.ffffff"), on either database.
    fast = True

    # The JSON text of what many deals share, made once: a stage's (with its pipeline and the
    # deal's status), an owner's, a currency's.
    stage_texts: dict[tuple[int, int, str], tuple[str, bool, int]] = {}
    owner_texts: dict[int | None, str] = {
        None: '"owner_id": null, "owner": null, ',
        **{i: f'"owner_id": {i}, "owner": {n}, ' for i, n in owners_json.items()},
    }
    currency_texts = {code: f'"currency": {quote(code)}, ' for code in scales}

    def stage_text(pipeline_id: int, stage_id: int, status: str) -> tuple[str, bool, int]:
        name, stage_json, is_open, stage_probability = stage_info[stage_id]
        text = (
            f'"pipeline_id": {pipeline_id}, "pipeline": {pipelines_json[pipeline_id]}, '
            f'"stage": {stage_json}, "stage_id": {stage_id}, "status": {quote(status)}, '
        )
        found = stage_texts[pipeline_id, stage_id, status] = (text, is_open, stage_probability)
        return found

    json_parts: list[Any] = []

    def json_block(part: Sequence[Any]) -> str:
        if not json_parts:
            json_parts.extend(row_parts(json=True))
        contact_json, company_json, tags_json = json_parts
        lines: list[str] = []
        add = lines.append
        for (
            did, title, contact_id, contact, company_id, company, pipeline_id, stage_id,
            status, value_minor, currency, own, close, lost_reason, owner_id, source,
            external_id, tags, entered, created, updated, closed, deleted,
        ) in part:  # fmt: skip
            try:
                stage_part, is_open, probability = stage_texts[pipeline_id, stage_id, status]
            except KeyError:
                stage_part, is_open, probability = stage_text(pipeline_id, stage_id, status)
            if own is not None and is_open:
                probability = own
            worth = (value_minor * probability + 50) // 100
            unit = scales[currency]
            # Times in an hour seen before (TimeText.json), inline: most of a million rows.
            if fast and (hour := json_hours.get(created[:13])) and len(created) > 18:
                created_text = hour[0] + created[13:19] + hour[1]
            else:
                created_text = json_time(created)
            # Most records were last changed when they were made, or closed then.
            if updated == created:
                updated_text = created_text
            elif fast and (hour := json_hours.get(updated[:13])) and len(updated) > 18:
                updated_text = hour[0] + updated[13:19] + hour[1]
            else:
                updated_text = json_time(updated)
            if closed == updated:
                closed_text = updated_text
            elif (
                fast
                and closed is not None
                and (hour := json_hours.get(closed[:13]))
                and len(closed) > 18
            ):
                closed_text = hour[0] + closed[13:19] + hour[1]
            else:
                closed_text = json_time(closed)
            if fast and len(entered) == 26 and (between := day_counts.get(entered[:10])):
                days = between - (entered[11:] > clock)
                if days < 0:
                    days = 0
            else:
                days = days_since(entered)
            add(
                f'{{"id": {did}, "title": {quote(title)}, '
                f'"contact_id": {"null" if contact_id is None else contact_id}, '
                f'"contact": {contact_json(contact)}, '
                f'"company_id": {"null" if company_id is None else company_id}, '
                f'"company": {company_json(company)}, '
                f"{stage_part}"
                f'"value": {value_minor / unit if value_minor % unit else value_minor // unit!r}, '
                f'{currency_texts[currency]}"value_minor": {value_minor}, '
                f'"probability": {probability}, '
                f'"probability_override": {"null" if own is None else own}, '
                f'"weighted_value": {worth / unit if worth % unit else worth // unit!r}, '
                f'"expected_close": {"null" if close is None else quote(day(close))}, '
                f'"lost_reason": {"null" if lost_reason is None else quote(lost_reason)}, '
                f"{owner_texts.get(owner_id) or _owner_text(owner_id)}"
                f'"source": {"null" if source is None else quote(source)}, '
                f'"external_id": {"null" if external_id is None else quote(external_id)}, '
                f'"tags": {tags_json(tags)}, '
                f'"days_in_stage": {days}, '
                f'"created_at": {created_text}, "updated_at": {updated_text}, '
                f'"closed_at": {closed_text}, '
                f'"deleted_at": {"null" if deleted is None else json_time(deleted)}}}'
            )
        return ",\n".join(lines)

    return common.RecordStream(
        parts, build, json_block, id_parts, records_with, transfer=_transfer()
    )


def _transfer() -> tuple[Callable[[Any], bytes], Callable[[bytes], Any]]:
    """How a chunk of a listing's rows goes to the copy that writes its JSON (fanout): the
    rows are the driver's tuples of numbers and text (times as text on either database),
    which `marshal` writes fastest (measured: pickling 200,000 rows that held datetimes took
    2.9 s of the reading process on PostgreSQL)."""
    import marshal

    return marshal.dumps, marshal.loads


def _owner_text(owner_id: int) -> str:
    """An owner id that names no user (removed since): the record's owner is None."""
    return f'"owner_id": {owner_id}, "owner": null, '


def _tags_json(tags: list[str], quote: Any) -> str:
    return "[" + ", ".join(quote(t) for t in tags) + "]"
