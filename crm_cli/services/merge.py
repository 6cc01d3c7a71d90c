"""Merging duplicates: one contact (or company) kept, the others folded into it.

Plan, then apply. `plan_*` reads and decides everything: which fields of KEEP change and why
(an empty field filled, or a conflict: KEEP's value wins unless `prefer="other"`), which
emails, phones, tags and custom fields come over, and which records (deals, follow-ups,
interactions, feedback, events; for companies, contacts and deals) move. `--dry-run` shows
the plan and writes nothing; `merge_*` applies the same plan in the caller's transaction, so
a merge is one change set and `crm undo` reverses it.

What happens to the others: they are soft-deleted (so `crm contact restore` can bring one
back) and keep their own fields, phones and tags, except emails: an address belongs to one
contact (it is unique), so it moves. Records pointing at them are moved by ORM updates, which
the journal records field by field. KEEP gets a `merge` event on its timeline saying what
came from where (companies have no timeline; the change set says it).

Undo order matters for emails: the others give theirs up before KEEP takes them, so the
journal lists the others first and undo (which walks a change set backwards) takes the
addresses off KEEP before it gives them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.errors import InvalidValue
from crm_cli.services import common, journal
from crm_cli.services.lookups import find_company, find_contact, lock_in_order
from crm_cli.services.users import user_names
from crm_cli.store.models import (
    Company,
    CompanyTag,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactTag,
)
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from crm_cli.services.context import Context

PREFER = ("keep", "other")
CONTACT_FIELDS = (
    "name",
    "given_name",
    "family_name",
    "title",
    "company_id",
    "lifecycle",
    "source",
    "owner_id",
    "cadence_days",
)
COMPANY_FIELDS = ("name", "domain", "industry", "size", "address", "owner_id")
# What moves with a contact, and with a company: (table, column).
CONTACT_LINKS = ("deal", "followup", "interaction", "feedback", "event")
COMPANY_LINKS = ("contact", "deal")


@dataclass
class MergePlan:
    kind: str  # contact, company
    keep: dict[str, Any]
    others: list[dict[str, Any]]
    prefer: str
    # One line per field of KEEP that changes or has a conflict.
    fields: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)  # {value, from}
    phones: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    moved: dict[str, list[int]] = field(default_factory=dict)
    # Not shown: the new values of KEEP, by attribute (custom as a whole dict).
    _set: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "keep": self.keep,
            "others": self.others,
            "prefer": self.prefer,
            "fields": self.fields,
            "conflicts": sum(1 for f in self.fields if f["conflict"]),
            "emails": self.emails,
            "phones": self.phones,
            "tags": self.tags,
            "moved": self.moved,
        }

    def summary(self) -> str:
        """What came over, in words: the merge event's text."""
        parts = []
        for name, items in (("email", self.emails), ("phone", self.phones), ("tag", self.tags)):
            if items:
                parts.append(_count(len(items), name))
        filled = [f for f in self.fields if f["changed"]]
        if filled:
            parts.append(_count(len(filled), "field"))
        for table, ids in self.moved.items():
            if ids:
                parts.append(_count(len(ids), table.replace("_", " ")))
        others = ", ".join(f"{self.kind} {o['id']} ({o['name']})" for o in self.others)
        return f"merged {others} into this {self.kind}" + (f": {', '.join(parts)}" if parts else "")


def _count(n: int, noun: str) -> str:
    plural = noun if n == 1 else ("feedback" if noun == "feedback" else f"{noun}s")
    if noun == "company":
        plural = "company" if n == 1 else "companies"
    return f"{n} {plural}"


def _check_refs(kind: str, keep: Any, others: list[Any]) -> None:
    seen = {int(keep.id)}
    for other in others:
        if int(other.id) in seen:
            what = "the kept one" if int(other.id) == int(keep.id) else "another one named"
            raise InvalidValue(kind, other.id, f"names the same {kind} as {what}")
        seen.add(int(other.id))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {}


def _plan_fields(
    plan: MergePlan, keep: Any, others: list[Any], fields: Sequence[str], shown: Any
) -> None:
    """The kept record's plain fields after the merge, conflicts noted in the plan."""
    for name in fields:
        current = getattr(keep, name)
        result = _merge_value(
            plan, name, current, [(int(o.id or 0), getattr(o, name)) for o in others], shown
        )
        if result != current:
            plan._set[name] = result


def _merge_value(
    plan: MergePlan,
    name: str,
    current: Any,
    others: list[tuple[int, Any]],
    shown: Any,
) -> Any:
    """KEEP's value after the merge, and a plan line when it changes or conflicts."""
    result = current
    overridden = False
    for other_id, value in others:
        if _empty(value) or value == result:
            continue
        if _empty(result):
            result = value
            plan.fields.append(_line(name, current, value, other_id, result, False, shown))
            continue
        take = plan.prefer == "other" and not overridden
        before = result
        if take:
            result = value
            overridden = True
        plan.fields.append(_line(name, before, value, other_id, result, True, shown))
    return result


def _line(
    name: str, keep: Any, other: Any, other_id: int, result: Any, conflict: bool, shown: Any
) -> dict[str, Any]:
    return {
        "field": name,
        "keep": shown(name, keep),
        "other": shown(name, other),
        "from": other_id,
        "result": shown(name, result),
        "conflict": conflict,
        "changed": result != keep,
    }


def _shower(session: Session, companies: dict[int, str] | None = None) -> Any:
    owners: dict[int, str] = {}
    company_names = companies or {}

    def shown(name: str, value: Any) -> Any:
        if value is None:
            return None
        if name == "owner_id":
            if value not in owners:
                owners.update(user_names(session, {value}))
            return owners.get(value, value)
        if name == "company_id":
            if value not in company_names:
                found = session.get(Company, value)
                company_names[value] = found.name if found is not None else str(value)
            return company_names[value]
        return value

    return shown


def _links(
    session: Session, tables: tuple[str, ...], column: str, ids: list[int]
) -> dict[str, Any]:
    """The records of each linked table that point at `ids`, as ORM objects."""
    models = journal.models()
    found: dict[str, Any] = {}
    for table in tables:
        model = models[table]
        found[table] = list(
            session.scalars(
                select(model).where(col(getattr(model, column)).in_(ids)).order_by(col(model.id))
            )
        )
    return found


# --- contacts ---------------------------------------------------------------------------------


def _contact_lists(session: Session, ids: list[int]) -> dict[int, dict[str, list[str]]]:
    return {i: journal.read_lists(session, "contact", i) for i in ids}


def plan_contact_merge(
    ctx: Context, session: Session, keep_ref: str, other_refs: list[str], prefer: str = "keep"
) -> MergePlan:
    plan, _keep, _others, _objects = _plan_contacts(ctx, session, keep_ref, other_refs, prefer)
    return plan


def _plan_contacts(
    ctx: Context, session: Session, keep_ref: str, other_refs: list[str], prefer: str
) -> tuple[MergePlan, Contact, list[Contact], dict[str, Any]]:
    prefer = _prefer(prefer)
    if not other_refs:
        raise InvalidValue("other", "", "name at least one contact to merge into the kept one")
    lock_in_order(session, "contact", [keep_ref, *other_refs])
    keep = find_contact(session, keep_ref)
    others = [find_contact(session, r) for r in other_refs]
    _check_refs("contact", keep, others)
    assert keep.id is not None
    other_ids = [int(o.id or 0) for o in others]
    plan = MergePlan(
        "contact",
        {"id": keep.id, "name": keep.name},
        [{"id": o.id, "name": o.name} for o in others],
        prefer,
    )
    shown = _shower(session)
    _plan_fields(plan, keep, others, CONTACT_FIELDS, shown)
    contacted = [c.last_contacted_at for c in (keep, *others) if c.last_contacted_at is not None]
    if contacted and max(contacted) != keep.last_contacted_at:
        plan._set["last_contacted_at"] = max(contacted)
    _plan_custom(plan, keep.custom, [(int(o.id or 0), o.custom) for o in others], shown)
    lists = _contact_lists(session, [keep.id, *other_ids])
    for name in ("emails", "phones", "tags"):
        have = list(lists[keep.id][name])
        for other_id in other_ids:
            for value in lists[other_id][name]:
                if value not in have:
                    have.append(value)
                    getattr(plan, name).append({"value": value, "from": other_id})
    objects = _links(session, CONTACT_LINKS, "contact_id", other_ids)
    plan.moved = {table: [int(o.id) for o in objs] for table, objs in objects.items()}
    objects["lists"] = lists
    return plan, keep, others, objects


def _plan_custom(
    plan: MergePlan, keep: dict[str, Any], others: list[tuple[int, dict[str, Any]]], shown: Any
) -> None:
    custom = dict(keep or {})
    keys = list(custom)
    for _other_id, values in others:
        keys.extend(k for k in (values or {}) if k not in keys)
    for key in keys:
        result = _merge_value(
            plan,
            f"field.{key}",
            custom.get(key),
            [(i, (values or {}).get(key)) for i, values in others],
            shown,
        )
        if result is not None:
            custom[key] = result
    if custom != dict(keep or {}):
        plan._set["custom"] = custom


def merge_contacts(
    ctx: Context, session: Session, keep_ref: str, other_refs: list[str], prefer: str = "keep"
) -> MergePlan:
    """Merge the other contacts into KEEP: one transaction, one change set."""
    from crm_cli.services.contacts import reindex_contacts
    from crm_cli.store.sales import Event

    plan, keep, others, objects = _plan_contacts(ctx, session, keep_ref, other_refs, prefer)
    assert keep.id is not None
    now = utcnow()
    lists = objects["lists"]
    # The others first: they give up their addresses before KEEP takes them (see the module
    # docstring), and their journal entries come first.
    for other in others:
        oid = int(other.id or 0)
        if lists[oid]["emails"]:
            # Noted before the rows go: the journal keeps them (ids, labels) for undo.
            journal.note_list(session, "contact", oid, "emails", lists[oid]["emails"], [])
            session.execute(delete(ContactEmail).where(ContactEmail.c.contact_id == oid))
        other.deleted_at = now
        other.updated_at = now
    session.flush()
    child: tuple[tuple[str, Any, str], ...] = (
        ("emails", ContactEmail, "email"),
        ("phones", ContactPhone, "phone"),
    )
    for name, table, column in child:
        added = [item["value"] for item in getattr(plan, name)]
        if not added:
            continue
        before = lists[keep.id][name]
        start = len(before)
        journal.note_list(session, "contact", keep.id, name, before, before + added)
        session.execute(
            insert(table),
            [
                {"contact_id": keep.id, column: value, "position": start + i}
                for i, value in enumerate(added)
            ],
        )
    if plan.tags:
        common.set_tags(
            session, ContactTag, "contact_id", keep.id, add=[t["value"] for t in plan.tags]
        )
    for name, value in plan._set.items():
        setattr(keep, name, value)
    keep.updated_at = now
    for table in CONTACT_LINKS:
        for obj in objects[table]:
            obj.contact_id = keep.id
    session.add(
        Event(
            at=now,
            kind="merge",
            detail=plan.summary(),
            contact_id=keep.id,
            user_id=ctx.user_id(session),
        )
    )
    session.flush()
    reindex_contacts(session, select(col(Contact.id)).where(col(Contact.id) == keep.id))
    return plan


# --- companies --------------------------------------------------------------------------------


def plan_company_merge(
    ctx: Context, session: Session, keep_ref: str, other_refs: list[str], prefer: str = "keep"
) -> MergePlan:
    plan, _keep, _others, _objects = _plan_companies(ctx, session, keep_ref, other_refs, prefer)
    return plan


def _plan_companies(
    ctx: Context, session: Session, keep_ref: str, other_refs: list[str], prefer: str
) -> tuple[MergePlan, Company, list[Company], dict[str, Any]]:
    prefer = _prefer(prefer)
    if not other_refs:
        raise InvalidValue("other", "", "name at least one company to merge into the kept one")
    lock_in_order(session, "company", [keep_ref, *other_refs])
    keep = find_company(session, keep_ref, loose=False)
    others = [find_company(session, r, loose=False) for r in other_refs]
    _check_refs("company", keep, others)
    assert keep.id is not None
    other_ids = [int(o.id or 0) for o in others]
    plan = MergePlan(
        "company",
        {"id": keep.id, "name": keep.name},
        [{"id": o.id, "name": o.name} for o in others],
        prefer,
    )
    shown = _shower(session)
    _plan_fields(plan, keep, others, COMPANY_FIELDS, shown)
    _plan_custom(plan, keep.custom, [(int(o.id or 0), o.custom) for o in others], shown)
    tags = common.tags_by_owner(session, CompanyTag, "company_id", [keep.id, *other_ids])
    have = list(tags[keep.id])
    for other_id in other_ids:
        for value in tags[other_id]:
            if value not in have:
                have.append(value)
                plan.tags.append({"value": value, "from": other_id})
    objects = _links(session, COMPANY_LINKS, "company_id", other_ids)
    plan.moved = {table: [int(o.id) for o in objs] for table, objs in objects.items()}
    return plan, keep, others, objects


def merge_companies(
    ctx: Context, session: Session, keep_ref: str, other_refs: list[str], prefer: str = "keep"
) -> MergePlan:
    """Merge the other companies into KEEP: one transaction, one change set."""
    from crm_cli.services.contacts import reindex_contacts
    from crm_cli.services.lookups import index_company

    plan, keep, others, objects = _plan_companies(ctx, session, keep_ref, other_refs, prefer)
    assert keep.id is not None
    now = utcnow()
    for other in others:
        other.deleted_at = now
        other.updated_at = now
    # The other's name leaves the live names before KEEP may take it (`--prefer other`).
    session.flush()
    if plan.tags:
        common.set_tags(
            session, CompanyTag, "company_id", keep.id, add=[t["value"] for t in plan.tags]
        )
    for name, value in plan._set.items():
        setattr(keep, name, value)
    keep.updated_at = now
    for table in COMPANY_LINKS:
        for obj in objects[table]:
            obj.company_id = keep.id
    tags = common.tags_by_owner(session, CompanyTag, "company_id", [keep.id])[keep.id]
    index_company(keep, tags)
    session.flush()
    moved = plan.moved.get("contact", [])
    if moved:
        # A contact's search document holds its company's name.
        reindex_contacts(session, select(col(Contact.id)).where(col(Contact.id).in_(moved)))
    return plan


def _prefer(value: str) -> str:
    choice = value.strip().lower()
    if choice not in PREFER:
        raise InvalidValue("prefer", value, "must be keep or other")
    return choice
