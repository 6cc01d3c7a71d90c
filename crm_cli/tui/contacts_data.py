"""What the contacts screen and the board's filters read and write, through the services the
CLI uses: `crm search` for search as you type, `crm contact show` for the 360 view, `crm contact
add` / `crm contact edit` for the form. Each function opens its own session on the shared
Context, so it is safe in a worker thread.

Nothing here imports Textual: these functions run in worker threads and return plain data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_cli.services.context import Context

# Contacts listed for one search: a screen of a tall terminal (48 lines show 44) and more;
# typing another letter narrows it. Each one listed costs its record (emails, phones, tags):
# at 100,000 contacts 100 of them took twice as long as 20.
SEARCH_LIMIT = 60


@dataclass
class ContactRow:
    id: int
    name: str
    email: str
    company: str
    tags: list[str]


def _row(record: dict[str, Any]) -> ContactRow:
    return ContactRow(
        id=int(record["id"]),
        name=str(record["name"]),
        email=(record.get("emails") or [""])[0],
        company=str(record.get("company") or ""),
        tags=list(record.get("tags") or []),
    )


def find_contacts(ctx: Context, query: str) -> list[ContactRow]:
    """Contacts matching `query`, best first, as `crm search --kind contact` finds them (CJK
    included); with no query, the first contacts by name as `crm contact list` lists them."""
    with ctx.session(write=False) as session:
        if not query.strip():
            from crm_cli.services.contacts import ContactFilter, list_contacts

            page = list_contacts(ctx, session, ContactFilter(limit=SEARCH_LIMIT))
            return [_row(r) for r in page.rows]
        from crm_cli.services.search import search

        hits = search(session, query, kinds=["contact"], limit=SEARCH_LIMIT, ctx=ctx)
        return [_row(hit["record"]) for hit in hits]


def contact_view(ctx: Context, contact_id: int) -> dict[str, Any]:
    """Everything `crm contact show` shows: fields, company, deals, follow-ups, interactions."""
    from crm_cli.services.timeline import contact_360

    with ctx.session(write=False) as session:
        return contact_360(ctx, session, str(contact_id))


@dataclass
class ContactDraft:
    """What the contact form holds, as typed. Lists are split on commas."""

    name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    company: str = ""
    title: str = ""
    tags: list[str] = field(default_factory=list)
    cadence: str = ""  # 30d, 2w, 30; empty or "off": none

    @classmethod
    def of(cls, record: dict[str, Any]) -> ContactDraft:
        """The draft showing a contact as it is (its record from `contact_view`)."""
        days = record.get("cadence_days")
        return cls(
            name=str(record["name"]),
            emails=list(record.get("emails") or []),
            phones=list(record.get("phones") or []),
            company=str(record.get("company") or ""),
            title=str(record.get("title") or ""),
            tags=list(record.get("tags") or []),
            cadence=f"{days}d" if days else "",
        )


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _acting(ctx: Context, command: str) -> Context:
    return dataclasses.replace(ctx, command=command, source="tui")


def _cadence(text: str) -> int:
    from crm_cli.services.reminders import cadence_days

    return cadence_days(text) if text.strip() else 0


def add_contact(ctx: Context, draft: ContactDraft) -> dict[str, Any]:
    """Add the contact as `crm contact add` does (same validation; nothing is written when a
    value is refused). Returns its record."""
    from crm_cli.services.contacts import ContactInput
    from crm_cli.services.contacts import add_contact as add

    cadence = _cadence(draft.cadence)
    inp = ContactInput(
        name=draft.name,
        title=draft.title.strip() or None,
        company=draft.company.strip() or None,
        cadence_days=cadence or None,
        emails=draft.emails,
        phones=draft.phones,
        add_tags=draft.tags,
    )
    acting = _acting(ctx, f"crm contact add {draft.name!r} (tui)")
    with acting.session() as session:
        return add(acting, session, inp)


def edit_contact(
    ctx: Context, contact_id: int, before: ContactDraft, draft: ContactDraft
) -> dict[str, Any]:
    """Change what the form changed, as `crm contact edit` does: only fields that differ from
    `before` are sent, tags as added and removed ones (never the whole set from a stale read)."""
    from crm_cli.services.contacts import ContactInput
    from crm_cli.services.contacts import edit_contact as edit

    def changed(name: str) -> bool:
        return bool(getattr(before, name) != getattr(draft, name))

    inp = ContactInput(
        name=draft.name if changed("name") else None,
        title=draft.title.strip() if changed("title") else None,
        company=draft.company.strip() if changed("company") else None,
        cadence_days=_cadence(draft.cadence) if changed("cadence") else None,
        emails=draft.emails if changed("emails") else None,
        phones=draft.phones if changed("phones") else None,
        add_tags=[t for t in draft.tags if t not in before.tags],
        remove_tags=[t for t in before.tags if t not in draft.tags],
    )
    acting = _acting(ctx, f"crm contact edit {contact_id} (tui)")
    with acting.session() as session:
        return edit(acting, session, str(contact_id), inp)


# --- the board's filters ------------------------------------------------------------------


def pipeline_names(ctx: Context) -> list[str]:
    """Every pipeline's name, in board order (what `p` cycles through)."""
    from crm_cli.services import pipelines

    with ctx.session(write=False) as session:
        return [p.name for p in pipelines.load_board(session).pipelines]


def owners(ctx: Context) -> list[tuple[str, str]]:
    """Every user as (name, what `--owner` takes for exactly them: the email, else the id), as
    `crm user list` lists them (the owners the board can filter by)."""
    from crm_cli.services.users import list_users

    with ctx.session(write=False) as session:
        return [(str(u["name"]), str(u["email"] or u["id"])) for u in list_users(ctx, session)]
