"""Sample data for `crm demo`: a small team's CRM, with names from several languages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
    try:
        from crm_cli.services.demo_sales import seed_sales
    except ImportError:  # pragma: no cover
        pass
    else:
        seed_sales(ctx, session)
    return summary(session)


def summary(session: Session) -> str:
    contacts = session.scalar(select(func.count()).select_from(Contact)) or 0
    lines = [
        f"{contacts} contacts in the demo database. Try:",
        "  crm --demo contact list",
        "  crm --demo search 张伟",
        "  crm --demo company show Acme GmbH",
    ]
    return "\n".join(lines)
