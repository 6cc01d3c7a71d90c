"""Team members. Records are owned by the current user unless told otherwise."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.errors import Conflict, InvalidValue, NotFound
from crm_cli.services.common import id_of, iso, zone
from crm_cli.store.models import User

if TYPE_CHECKING:
    from crm_cli.services.context import Context

ROLES = ("admin", "member", "viewer")


def find_user(session: Session, name: str, email: str | None) -> int | None:
    """The user with this email (else, when no email is set, this name), if there is one.

    On the table, not the mapped class: every command runs this first, and the first ORM
    query configures every mapper (some 15 ms), which reports and listings never need."""
    user = User.__table__.c  # type: ignore[attr-defined]
    if email:
        found = session.scalar(select(user.id).where(user.email == email.lower()))
    else:
        found = session.scalar(
            select(user.id).where(user.name == name, user.email.is_(None)).order_by(user.id)
        )
    return int(found) if found is not None else None


def ensure_user(session: Session, name: str, email: str | None) -> int:
    """Find the user by email (else by name) or create them. Two processes that create the
    same user at once meet the unique email: the loser finds the winner's record.

    Setting `user.email` after having worked with only `user.name` is the same person: the
    user of that name who has no email yet takes the address, rather than a second user
    with the same name appearing (and "mine" hiding what was made before)."""
    found = find_user(session, name, email)
    if found is not None:
        return found
    if email:
        unclaimed = find_user(session, name, None)
        if unclaimed is not None:
            user = session.get(User, unclaimed, with_for_update=True)
            assert user is not None
            user.email = email.lower()
            session.flush()
            return unclaimed
    user = User(name=name, email=email.lower() if email else None)
    session.add(user)
    session.flush()
    assert user.id is not None
    return user.id


def user_record(user: User, tz: tzinfo) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "created_at": iso(user.created_at, tz),
    }


def add_user(
    ctx: Context, session: Session, name: str, email: str | None, role: str = "member"
) -> dict[str, Any]:
    from crm_cli.domain.contactinfo import normalize_email
    from crm_cli.domain.text import clean_line

    name = clean_line(name, "name")
    if role not in ROLES:
        raise InvalidValue("role", role, f"must be one of {', '.join(ROLES)}")
    address = normalize_email(email).lower() if email else None
    if address and session.scalar(select(col(User.id)).where(col(User.email) == address)):
        raise Conflict(f"a user with email {address!r} exists already")
    user = User(name=name.strip(), email=address, role=role)
    session.add(user)
    session.flush()
    return user_record(user, zone(session))


def merge_users(ctx: Context, session: Session, keep: str, other: str) -> dict[str, Any]:
    """Make `other` part of `keep`: everything `other` owns or did (contacts, companies,
    deals, follow-ups, interactions, feedback, stage changes, timeline events) is `keep`'s,
    and `other` is removed. For databases that got two users for one person. Journaled, so
    `crm undo` separates them again."""
    from crm_cli.store.models import Company, Contact
    from crm_cli.store.sales import Deal, Event, Feedback, Followup, Interaction, StageChange

    keep_id, other_id = resolve_user(session, keep, "keep"), resolve_user(session, other, "other")
    if keep_id == other_id:
        raise InvalidValue("other", other, "is the same user as the one to keep")
    moved: dict[str, int] = {}
    owned: tuple[Any, ...] = (Company, Contact, Deal, Followup, Interaction, Feedback)
    for model in owned:
        rows = session.scalars(
            select(model).where(col(model.owner_id) == other_id).with_for_update()
        ).all()
        for row in rows:
            row.owner_id = keep_id
        moved[model.__tablename__] = len(rows)
    history: tuple[Any, ...] = (StageChange, Event)
    for kind in history:
        done = session.scalars(select(kind).where(col(kind.user_id) == other_id)).all()
        for row in done:
            row.user_id = keep_id
        moved[kind.__tablename__] = len(done)
    session.flush()
    gone = session.get(User, other_id)
    assert gone is not None
    record = user_record(gone, zone(session))
    session.delete(gone)
    session.flush()
    return {"kept": keep_id, "removed": record, "moved": moved}


def list_users(ctx: Context, session: Session) -> list[dict[str, Any]]:
    tz = zone(session)
    return [user_record(u, tz) for u in session.scalars(select(User).order_by(col(User.id)))]


def resolve_user(session: Session, ref: str, field: str = "owner") -> int:
    """A user by id, email or name, as contacts are named: the name as typed, else case
    aside, else with accents folded too ("jose perez"), else its start or a word's start
    (`--owner jose` is José Pérez). Several users matching by the best of those rules are
    refused, listed with their ids; a name no user has gets the closest as a suggestion.
    Users are a team's few, so their names are compared in Python."""
    from crm_cli.domain.text import closest_name, names_matching

    text = ref.strip()
    number = id_of(text)
    if number is not None:
        found = session.get(User, number)
        if found is None:
            raise NotFound("user", ref)
        assert found.id is not None
        return found.id
    if "@" in text:
        uid = session.scalar(select(col(User.id)).where(col(User.email) == text.lower()))
        if uid is None:
            raise NotFound("user", ref)
        return int(uid)
    users = [
        (int(uid or 0), str(name))
        for uid, name in session.execute(
            select(col(User.id), col(User.name)).order_by(col(User.id))
        )
    ]
    names = [name for _, name in users]
    matches = [users[i] for i in names_matching(names, text, loose=True)]
    if len(matches) > 1:
        shown = "; ".join(f"{uid} {name}" for uid, name in matches)
        raise InvalidValue(field, ref, f"matches several users: {shown}; use the id or email")
    if not matches:
        error = NotFound("user", ref)
        close = closest_name(text, names) if text else None
        if close is not None:
            error.message += f"; did you mean {names[close]!r} (id {users[close][0]})?"
        raise error
    return matches[0][0]


def user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(col(User.id), col(User.name)).where(col(User.id).in_(ids)))
    return {int(i): n for i, n in rows if i is not None}
