"""Sample data for `crm demo`: a small team's CRM, with names from several languages.

The demo database is filled in a temporary file and renamed into place only when complete:
a run that is interrupted part way (Ctrl-C, a kill, an error) leaves no demo database, so
the next `crm --demo ...` makes it afresh, instead of finding a half-filled one and never
filling it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.services.companies import CompanyInput, add_company
from crm_cli.services.contacts import ContactInput, add_contact
from crm_cli.store.models import Contact

if TYPE_CHECKING:
    from crm_cli.services.context import Context

COMPANIES = [
    ("Acme GmbH", "acme.de", "Manufacturing", "51-200", ["key-account"]),
    ("Northwind Traders", "northwind.example", "Retail", "201-500", []),
    ("北京云海科技", "yunhai.cn", "Software", "11-50", ["asia"]),
    ("Sakura Design 株式会社", "sakura-design.jp", "Design", "11-50", ["asia"]),
    ("Lumen Health", "lumenhealth.example", "Healthcare", "501-1000", []),
    ("Fjord Analytics AS", "fjord.no", "Software", "11-50", ["partner"]),
]

CONTACTS = [
    (
        "Ana Lima",
        "ana@acme.de",
        "+49 30 1234567",
        "Acme GmbH",
        "Head of Purchasing",
        "customer",
        ["vip"],
    ),
    ("Jonas Weber", "jonas.weber@acme.de", "+49 89 7654321", "Acme GmbH", "CFO", "customer", []),
    (
        "张伟",
        "zhang.wei@yunhai.cn",
        "+86 10 6552 9988",
        "北京云海科技",
        "CTO",
        "prospect",
        ["asia"],
    ),
    (
        "王芳",
        "wang.fang@yunhai.cn",
        "+86 138 0013 8000",
        "北京云海科技",
        "Product Lead",
        "lead",
        [],
    ),
    (
        "佐藤 花子",
        "hanako.sato@sakura-design.jp",
        "+81 3-1234-5678",
        "Sakura Design 株式会社",
        "Art Director",
        "prospect",
        [],
    ),
    ("김민준", "minjun.kim@example.kr", "+82 2-312-3456", None, "Consultant", "lead", ["partner"]),
    (
        "Margaret O'Brien",
        "maggie@northwind.example",
        "+1 415 555 0134",
        "Northwind Traders",
        "VP Operations",
        "customer",
        ["vip"],
    ),
    (
        "Luis García",
        "luis.garcia@lumenhealth.example",
        "+34 912 345 678",
        "Lumen Health",
        "IT Director",
        "prospect",
        [],
    ),
    (
        "Ingrid Solberg",
        "ingrid@fjord.no",
        "+47 22 12 34 56",
        "Fjord Analytics AS",
        "CEO",
        "customer",
        ["partner"],
    ),
    (
        "Priya Raman",
        "priya.raman@lumenhealth.example",
        "+44 20 7946 0958",
        "Lumen Health",
        "Procurement",
        "lead",
        [],
    ),
    (
        "Tomás Novák",
        "tomas.novak@example.cz",
        "+420 234 567 890",
        None,
        "Freelance architect",
        "churned",
        [],
    ),
]


def ensure_demo_database(ctx: Context) -> None:
    """Make and fill the demo database behind `ctx` unless it exists.

    Under a lock, so that two `crm --demo` started at once make it once; the temporary file
    has a fixed name so that one left by a killed run is found and replaced, not piled up.
    """
    from crm_cli import paths
    from crm_cli.services.context import Context, sqlite_file
    from crm_cli.store.backup import remove_database, to_rollback_journal

    target = sqlite_file(ctx.url)
    if target is None:
        raise ValueError(f"the demo database must be a SQLite file, not {ctx.safe_url}")
    if target.exists():
        return
    if target.parent == paths.data_dir():
        paths.private_dir(target.parent)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    with paths.file_lock(target.with_name(target.name + ".lock")):
        if target.exists():
            return  # another process finished it while this one waited
        partial = target.with_name(target.name + ".partial")
        remove_database(partial)
        paths.private_file(partial)
        builder = Context(config=ctx.config, url=paths.sqlite_url(partial))
        try:
            try:
                with builder.session() as session:
                    seed(builder, session)
            finally:
                builder.close()
            # One self-contained file before the rename: no -wal left behind to go with it.
            to_rollback_journal(partial)
            partial.replace(target)
        except BaseException:
            remove_database(partial)
            raise


def seed(ctx: Context, session: Session) -> str:
    """Fill an empty database with the sample data; leave a filled one as it is."""
    if session.scalar(select(func.count()).select_from(Contact)):
        return summary(session)
    for name, domain, industry, size, tags in COMPANIES:
        add_company(
            ctx,
            session,
            CompanyInput(name=name, domain=domain, industry=industry, size=size, add_tags=tags),
        )
    for name, email, phone, company, title, lifecycle, tags in CONTACTS:
        add_contact(
            ctx,
            session,
            ContactInput(
                name=name,
                emails=[email],
                phones=[phone],
                company=company,
                title=title,
                lifecycle=lifecycle,
                add_tags=tags,
                source="demo",
            ),
        )
    seed_sales(ctx, session)
    return summary(session)


# title, contact, value, currency, stage, close in days (None: no date)
DEALS = [
    ("Acme annual renewal", "ana@acme.de", "12000", "EUR", "negotiation", 38),
    ("Acme line 2 sensors", "jonas.weber@acme.de", "48500", "EUR", "proposal", 60),
    ("云海 data platform pilot", "zhang.wei@yunhai.cn", "260000", "CNY", "qualified", 75),
    ("Sakura brand refresh", "hanako.sato@sakura-design.jp", "1800000", "JPY", "proposal", 30),
    ("Northwind POS rollout", "maggie@northwind.example", "94000", "USD", "won", None),
    (
        "Lumen Health EHR integration",
        "luis.garcia@lumenhealth.example",
        "150000",
        "EUR",
        "lead",
        120,
    ),
    ("Fjord analytics seats", "ingrid@fjord.no", "36000", "NOK", "negotiation", 14),
    ("Lumen Health pilot", "priya.raman@lumenhealth.example", "8000", "GBP", "lost", None),
    ("Consulting retainer", "minjun.kim@example.kr", "15000000", "KRW", "lead", 45),
]

# title, contact, due (WHEN), priority, repeat
FOLLOWUPS = [
    ("Send the renewal contract", "ana@acme.de", "-1d", "high", None),
    ("Call Jonas about line 2 timing", "jonas.weber@acme.de", "today 15:00", "normal", None),
    ("Pilot check-in with 张伟", "zhang.wei@yunhai.cn", "tomorrow 10:00", "normal", "weekly"),
    ("Review brand concepts with Hanako", "hanako.sato@sakura-design.jp", "+3d", "normal", None),
    (
        "Quarterly business review",
        "maggie@northwind.example",
        "in 2 weeks",
        "low",
        "every 3 months",
    ),
    ("Chase signed order form", "ingrid@fjord.no", "-3d", "high", None),
]

# kind, contact, summary, direction, when
INTERACTIONS = [
    ("call", "ana@acme.de", "Walked through renewal pricing", "out", "-2d"),
    ("email", "jonas.weber@acme.de", "Sent line 2 proposal", "out", "-5d"),
    ("meeting", "zhang.wei@yunhai.cn", "Pilot scoping workshop in Beijing", None, "-9d"),
    ("message", "hanako.sato@sakura-design.jp", "Asked for brand guidelines", "in", "-1d"),
    ("call", "maggie@northwind.example", "Kick-off call for the rollout", "out", "-20d"),
    ("note", "ingrid@fjord.no", "Budget approved, waiting for procurement", None, "-4d"),
]

# contact, kind, score, text
FEEDBACK = [
    ("maggie@northwind.example", "nps", 9, "Rollout went smoothly."),
    ("ana@acme.de", "csat", 4, "Support was quick."),
    ("ingrid@fjord.no", "complaint", None, "Invoice sent to the wrong address."),
    (None, "nps", 6, "Good product, onboarding was slow."),
]


def seed_sales(ctx: Context, session: Session) -> None:
    from crm_cli.services import deals, feedback, followups, interactions

    for title, contact, value, currency, stage, close in DEALS:
        added = deals.add_deal(
            ctx,
            session,
            deals.DealInput(
                title=title,
                contact=contact,
                value=value,
                currency=currency,
                close=f"+{close}d" if close is not None else None,
                source="demo",
            ),
        )
        deal_id = str(added.record["id"])
        path = ["qualified", "proposal", "negotiation"]
        target = stage if stage in path else path[1] if stage in ("won", "lost") else None
        for step in path[: path.index(target) + 1] if target else []:
            deals.move_deal(ctx, session, deal_id, step)
        if stage == "won":
            deals.win_deal(ctx, session, deal_id)
        elif stage == "lost":
            deals.lose_deal(ctx, session, deal_id, "Chose a cheaper vendor")
    for title, contact, due, priority, repeat in FOLLOWUPS:
        followups.add_followup(
            ctx,
            session,
            followups.FollowupInput(
                title=title, contact=contact, due=due, priority=priority, repeat=repeat
            ),
        )
    for kind, contact, summary_text, direction, at in INTERACTIONS:
        interactions.log_interaction(
            ctx,
            session,
            interactions.InteractionInput(
                kind=kind, contact=contact, summary=summary_text, direction=direction, at=at
            ),
        )
    for who, kind, score, text in FEEDBACK:
        feedback.add_feedback(
            ctx, session, feedback.FeedbackInput(kind=kind, contact=who, score=score, text=text)
        )


def summary(session: Session) -> str:
    """What is in the demo database: the pipeline by stage and what is due."""
    from crm_cli.domain.money import format_money
    from crm_cli.store.sales import Deal, Followup, Stage

    contacts = session.scalar(select(func.count()).select_from(Contact)) or 0
    lines = [f"Demo database: {contacts} contacts.", "", "Open deals by stage:"]
    rows = session.execute(
        select(col(Stage.name), col(Deal.currency), func.count(), func.sum(Deal.value_minor))
        .join(Deal, col(Deal.stage_id) == col(Stage.id))
        .where(col(Deal.deleted_at).is_(None), col(Stage.kind) == "open")
        .group_by(col(Stage.position), col(Stage.name), col(Deal.currency))
        .order_by(col(Stage.position), col(Deal.currency))
    ).all()
    for stage, currency, count, total in rows:
        plural = "s" if count != 1 else ""
        lines.append(
            f"  {stage:<12} {count} deal{plural}  {format_money(int(total or 0), currency)}"
        )
    due = (
        session.scalar(
            select(func.count())
            .select_from(Followup)
            .where(col(Followup.done_at).is_(None), col(Followup.deleted_at).is_(None))
        )
        or 0
    )
    lines += [
        "",
        f"{due} open follow-ups.",
        "",
        "Every command takes --demo to work on this database. Try:",
        "  crm --demo deal list",
        "  crm --demo followup list --all",
        "  crm --demo contact show ana@acme.de",
        "  crm --demo search 张伟",
    ]
    return "\n".join(lines)
