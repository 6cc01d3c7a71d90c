"""Shell completion: the shell's TAB answered from the user's own records, fast.

Why a module apart from the CLI and the store: every TAB starts a whole `crm` process, and the
answer must be back within 80 ms at 100,000 contacts, interpreter start included. On this
project's machines importing typer costs ~50 ms, SQLAlchemy ~175 ms and SQLModel ~300 ms, so
this path imports none of them: only the standard library, `crm_cli.paths`, the generated tree
of commands `crm_cli.complete_tree`, and the DB-API driver itself (sqlite3; psycopg for a
PostgreSQL URL, imported only then). `run` is the entry point for the console script: it
answers before the CLI package (and with it Typer) is imported, and hands every other command
line to `crm_cli.cli.run`, which answers a completion request too when it is reached first
(`python -m crm_cli`), only later.

What it trades: its SQL is written by hand against the schema, outside the store. Every query
is in `SQL` below, and tests/cli/test_completion.py runs each one against a freshly migrated
database on SQLite and PostgreSQL and reads SQLite's query plans, so a schema change that
breaks one fails there, not at a user's TAB. The command tree is generated from the Typer app
(`python -m crm_cli.cli.reference --completion-tree > crm_cli/complete_tree.py`) and a test
fails when it is stale. Which parameter completes from which data is declared once, in
`SOURCES`.

It only reads. SQLite is opened `mode=ro` (a missing file gives no candidates and is never
created) and PostgreSQL in a read-only transaction; nothing is migrated. A database this path
cannot read (absent, locked, from an older crm) gives no candidates: a completion never prints
an error into the user's command line (CRM_DEBUG=1 shows it on stderr).

Candidates start with what was typed, compared without case ("an" offers "Ana Lima"), at most
`LIMIT` of them, live records only (removed ones for `restore`). Prefixes are found through
the tables' own indexes: the typed prefix becomes a few index ranges, one per spelling of its
letters in upper and lower case that the index actually holds (`_prefix_ranges`), so no query
reads more than a range of an index, whatever the size of the table.

The protocol is Typer's, whose scripts `crm --show-completion` prints: `_CRM_COMPLETE` is
`complete_bash` (with COMP_WORDS, COMP_CWORD), `complete_zsh` or `complete_fish` (with
_TYPER_COMPLETE_ARGS, the command line up to the cursor, and for fish
_TYPER_COMPLETE_FISH_ACTION), or `source_SHELL` for the script itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence

# `typing` costs ~5 ms to import, and is needed only by the type checker here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMPLETE_VAR = "_CRM_COMPLETE"
PROG = "crm"
SHELLS = ("bash", "zsh", "fish")
# Candidates per answer: more is a screenful no one reads; type a letter more instead.
LIMIT = 50
# How many spellings of a prefix (Ana, ana, ANA ...) are looked up as separate index ranges.
MAX_RANGES = 16

# --- which data completes which parameter ----------------------------------------------------

# (command path, parameter name) -> source. A path of "*" is any command; "noun *" is any verb
# of that noun; the most specific entry wins. A parameter is an option's or argument's
# Python name (`--move-to` is `move_to`). None: free text, nothing to offer.
SOURCES: dict[tuple[str, str], str | None] = {
    # Options that name a record, on every command that has them.
    ("*", "contact"): "contact",
    ("*", "company"): "company",
    ("*", "deal"): "deal",
    ("*", "owner"): "user",
    ("*", "stage"): "stage",
    ("*", "after"): "stage",
    ("*", "before"): "stage",
    ("*", "move_to"): "stage",
    ("*", "pipeline"): "pipeline",
    ("*", "tag"): "tag",
    ("*", "untag"): "tag",
    ("*", "lifecycle"): "lifecycle",
    ("*", "priority"): "priority",
    ("*", "direction"): "direction",
    ("*", "role"): "role",
    ("deal list", "status"): "deal_status",
    ("followup list", "due"): "due_filter",
    ("log list", "kind"): "interaction_kind",
    ("feedback *", "kind"): "feedback_kind",
    ("pipeline add-stage", "kind"): "stage_kind",
    # Arguments.
    ("contact *", "ref"): "contact",
    ("contact *", "refs"): "contact",
    ("contact tag", "args"): "contact_or_tag",
    ("contact restore", "ref"): "removed_contact",
    ("company *", "ref"): "company",
    ("company *", "refs"): "company",
    ("company restore", "ref"): "removed_company",
    ("deal *", "deal_id"): "deal",
    ("deal *", "deal_ids"): "deal",
    ("deal restore", "deal_id"): "removed_deal",
    ("deal move", "stage"): "stage",
    ("followup *", "ref"): "followup",
    ("followup *", "refs"): "followup",
    ("log *", "ref"): "contact",
    ("log show", "ref"): "interaction",
    ("log rm", "refs"): "interaction",
    ("feedback add", "ref"): "contact",
    ("feedback *", "ref"): "feedback",
    ("feedback *", "refs"): "feedback",
    ("pipeline rm", "name"): "pipeline",
    ("pipeline add-stage", "stage"): None,  # the name of a new stage
    ("pipeline rename-stage", "old"): "stage",
    ("user merge", "keep"): "user",
    ("user merge", "other"): "user",
    ("history", "kind"): "history_kind",
    ("history", "ref"): "record",  # of the kind before it
    ("config get", "key"): "config_key",
    ("config set", "key"): "config_key",
    ("config unset", "key"): "config_key",
}

# Sources whose values are fixed: the generator copies them into complete_tree.VALUES from the
# constant the service checks against ("module:NAME"; a dict gives its keys, with help).
STATIC: dict[str, str] = {
    "lifecycle": "crm_cli.services.contacts:LIFECYCLES",
    "priority": "crm_cli.services.followups:PRIORITIES",
    "direction": "crm_cli.services.interactions:DIRECTIONS",
    "role": "crm_cli.services.users:ROLES",
    "deal_status": "crm_cli.services.deals:STATUSES",
    "due_filter": "crm_cli.services.followups:DUE_FILTERS",
    "interaction_kind": "crm_cli.services.interactions:KINDS",
    "feedback_kind": "crm_cli.services.feedback:KINDS",
    "stage_kind": "crm_cli.services.pipelines:KINDS",
    "history_kind": "crm_cli.services.undo:_KINDS",
    "config_key": "crm_cli.config:KEYS",
}


def source_for(path: str, param: str) -> str | None:
    """The source that completes `param` of the command `path` ("deal move"), or None."""
    noun = path.split(" ", 1)[0]
    for key in ((path, param), (f"{noun} *", param), ("*", param)):
        if key in SOURCES:
            return SOURCES[key]
    return None


# --- the queries -----------------------------------------------------------------------------

# Every statement this module runs. Placeholders are `?` (psycopg gets `%s`); `{live}` is
# `IS NULL` for live records or `IS NOT NULL` for removed ones; `{c}` is empty, or
# ` COLLATE "C"` on a PostgreSQL database whose collation does not sort by code point (the
# ranges are code-point ranges; such a database reads them without its index, but right).
# A range query reads one range of the column's index (`name >= lo AND name < hi`), keeps the
# prefix without case (`lower(...) LIKE`, with Python's lower() on SQLite as in the app), and
# stops at the limit.
SQL: dict[str, str] = {
    "contact_name_probe": "SELECT 1 FROM contact WHERE name{c} >= ? AND name{c} < ? LIMIT 1",
    "contact_name": (
        "SELECT c.name, (SELECT e.email FROM contact_email e WHERE e.contact_id = c.id "
        "ORDER BY e.position LIMIT 1) FROM contact c "
        "WHERE c.name{c} >= ? AND c.name{c} < ? AND lower(c.name) LIKE ? ESCAPE '\\' "
        "AND c.deleted_at {live} ORDER BY c.name{c} LIMIT ?"
    ),
    "contact_email_probe": (
        "SELECT 1 FROM contact_email WHERE email{c} >= ? AND email{c} < ? LIMIT 1"
    ),
    "contact_email": (
        "SELECT e.email, c.name FROM contact_email e JOIN contact c ON c.id = e.contact_id "
        "WHERE e.email{c} >= ? AND e.email{c} < ? AND lower(e.email) LIKE ? ESCAPE '\\' "
        "AND c.deleted_at {live} ORDER BY e.email{c} LIMIT ?"
    ),
    "company_name_probe": "SELECT 1 FROM company WHERE name{c} >= ? AND name{c} < ? LIMIT 1",
    "company_name": (
        "SELECT name, domain FROM company "
        "WHERE name{c} >= ? AND name{c} < ? AND lower(name) LIKE ? ESCAPE '\\' "
        "AND deleted_at {live} ORDER BY name{c} LIMIT ?"
    ),
    # Tags are stored in lower case (services.common): one range of the unique index.
    "tag_name": "SELECT name FROM tag WHERE name{c} >= ? AND name{c} < ? ORDER BY name{c} LIMIT ?",
    # Records by id: an id "12" is completed by the ids 12, 120-129, 1200-1299 ... of the
    # primary key, shortest first.
    "contact_id": (
        "SELECT id, name FROM contact WHERE id >= ? AND id <= ? AND deleted_at {live} "
        "ORDER BY id LIMIT ?"
    ),
    "company_id": (
        "SELECT id, name FROM company WHERE id >= ? AND id <= ? AND deleted_at {live} "
        "ORDER BY id LIMIT ?"
    ),
    "deal_id": (
        "SELECT id, title FROM deal WHERE id >= ? AND id <= ? AND deleted_at {live} "
        "ORDER BY id LIMIT ?"
    ),
    "followup_id": (
        "SELECT id, title FROM followup WHERE id >= ? AND id <= ? AND deleted_at {live} "
        "ORDER BY id LIMIT ?"
    ),
    "interaction_id": (
        "SELECT id, summary FROM interaction WHERE id >= ? AND id <= ? AND deleted_at {live} "
        "ORDER BY id LIMIT ?"
    ),
    "feedback_id": (
        "SELECT id, COALESCE(text, kind) FROM feedback WHERE id >= ? AND id <= ? "
        "AND deleted_at {live} ORDER BY id LIMIT ?"
    ),
    # Nothing typed yet: the deals last worked on (ix_deal_live_updated).
    "deal_recent": (
        "SELECT id, title FROM deal WHERE deleted_at {live} ORDER BY updated_at DESC LIMIT ?"
    ),
    # Small tables: read whole, filtered here.
    "user": 'SELECT name, email FROM "user" ORDER BY name',
    "pipeline": "SELECT name FROM pipeline ORDER BY position, name",
    "stage": (
        "SELECT s.name, p.name FROM stage s JOIN pipeline p ON p.id = s.pipeline_id "
        "WHERE s.deleted_at IS NULL ORDER BY p.position, p.name, s.position"
    ),
    # PostgreSQL: does the database sort text by code point (C, C.UTF-8)?
    "pg_code_point_order": "SELECT 'B' < 'a' AND 'Z' < '[' AND 'z' < 'é'",
}

# The kinds `crm history KIND REF` names whose records completion knows.
_KINDS = ("contact", "company", "deal", "followup", "interaction", "feedback", "pipeline", "stage")
MAX_ID = 2**31 - 1


class Database:
    """A read-only connection through the DB-API driver: SQLite's sqlite3 or psycopg."""

    def __init__(self, conn: Any, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres
        self.collate = ""
        if postgres and not self.rows("pg_code_point_order")[0][0]:
            self.collate = ' COLLATE "C"'

    def statement(self, name: str, removed: bool = False) -> str:
        sql = SQL[name].format(live="IS NOT NULL" if removed else "IS NULL", c=self.collate)
        return sql.replace("?", "%s") if self.postgres else sql

    def rows(self, name: str, *params: Any, removed: bool = False) -> list[tuple[Any, ...]]:
        cursor = self.conn.cursor()
        try:
            cursor.execute(self.statement(name, removed), params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def close(self) -> None:
        self.conn.close()


def database_url(demo: bool = False) -> str:
    """The database `crm` would open: as `services.context.database_url` finds it, without
    loading `crm_cli.config` (dataclasses and typing: ~20 ms) for the usual SQLite file."""
    from crm_cli import paths

    if demo:
        return paths.sqlite_url(paths.demo_db_path())
    url = os.environ.get("CRM_DATABASE_URL")
    if not url:
        path = paths.config_path()
        if path.is_file():
            import tomllib

            with path.open("rb") as fh:
                url = tomllib.load(fh).get("database", {}).get("url")
    if url and not url.startswith("sqlite"):
        # A server URL: the config's own reading (it adds CRM_DATABASE_PASSWORD). Its cost
        # is nothing beside psycopg's.
        from crm_cli import config

        url = config.load().database_url
    return str(url) if url else paths.sqlite_url(paths.default_db_path())


def connect(url: str) -> Database | None:
    """A read-only connection to `url`, or None when there is no database to read."""
    if url.startswith("sqlite"):
        import sqlite3

        from crm_cli import paths

        path = paths.sqlite_path(url)
        if path is None or not path.is_file():
            return None
        # A short busy timeout: a TAB that waits is worse than one that offers nothing.
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=0.5)
        # As the app does (store.engine): names are compared with Python's lower().
        conn.create_function("lower", 1, _lower, deterministic=True)
        return Database(conn, postgres=False)
    import psycopg

    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql://" + url.removeprefix(prefix)
    pg = psycopg.connect(url, connect_timeout=3)
    pg.read_only = True
    return Database(pg, postgres=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# --- prefixes as index ranges ----------------------------------------------------------------


def _after(prefix: str) -> str:
    """The least string greater than every string that starts with `prefix`, in code-point
    order (SQLite's BINARY collation; PostgreSQL's C)."""
    while prefix:
        point = ord(prefix[-1]) + 1
        if 0xD800 <= point <= 0xDFFF:
            point = 0xE000  # surrogates are not text
        if point <= 0x10FFFF:
            return prefix[:-1] + chr(point)
        prefix = prefix[:-1]
    return "\U0010ffff"


def _spellings(char: str) -> list[str]:
    """The one-character spellings of `char` in upper and lower case ("a": a, A; "7": 7)."""
    found = [char]
    for other in (char.lower(), char.upper()):
        if len(other) == 1 and other not in found:
            found.append(other)
    return found


def _prefix_ranges(db: Database, probe: str, prefix: str) -> list[tuple[str, str]]:
    """Index ranges [lo, hi) that together hold every value starting with `prefix`, whatever
    its case: one per spelling ("Ana", "ana", "ANA" ...) that the index holds, found by
    probing the index a letter at a time and dropping the spellings it has no entry for.
    When spellings multiply past MAX_RANGES, the ranges stay at the letters known so far and
    the query's LIKE keeps the rest of the prefix."""
    stems = [""]
    for char in prefix:
        grown = [stem + s for stem in stems for s in _spellings(char)]
        if len(grown) == len(stems):  # no case to it: one spelling, no probe needed
            stems = grown
            continue
        grown = [stem for stem in grown if db.rows(probe, stem, _after(stem))]
        if not grown:
            return []
        if len(grown) > MAX_RANGES:
            break
        stems = grown
    return [(stem, _after(stem)) for stem in stems]


def _like(prefix: str) -> str:
    escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _by_prefix(
    db: Database, name: str, prefix: str, removed: bool = False
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for lo, hi in _prefix_ranges(db, f"{name}_probe", prefix):
        rows += db.rows(name, lo, hi, _like(prefix), LIMIT, removed=removed)
    return rows


def _by_id(db: Database, table: str, typed: str, removed: bool = False) -> list[Item]:
    """Records whose id starts with the digits `typed`, with their label as help."""
    if not (typed.isascii() and typed.isdigit()) or typed.startswith("0"):
        return []
    items: list[Item] = []
    lo = hi = int(typed)
    while lo <= MAX_ID and len(items) < LIMIT:
        for record_id, label in db.rows(
            f"{table}_id", lo, min(hi, MAX_ID), LIMIT - len(items), removed=removed
        ):
            items.append((str(record_id), _one_line(label)))
        lo, hi = lo * 10, hi * 10 + 9
    return items


def _one_line(text: Any) -> str:
    return " ".join(str(text).split()) if text is not None else ""


# --- the sources -----------------------------------------------------------------------------

Item = tuple[str, str]  # value, help


def _matching(values: Sequence[Item], typed: str) -> list[Item]:
    low = typed.lower()
    return [(v, h) for v, h in values if v.lower().startswith(low)]


def _contacts(db: Database, typed: str, removed: bool = False) -> list[Item]:
    if typed.isascii() and typed.isdigit():
        return _by_id(db, "contact", typed, removed)
    items: list[Item] = []
    if "@" not in typed:
        items += [(n, _one_line(e)) for n, e in _by_prefix(db, "contact_name", typed, removed)]
    items += [(e, _one_line(n)) for e, n in _by_prefix(db, "contact_email", typed, removed)]
    return items


def _companies(db: Database, typed: str, removed: bool = False) -> list[Item]:
    if typed.isascii() and typed.isdigit():
        return _by_id(db, "company", typed, removed)
    return [(n, _one_line(d)) for n, d in _by_prefix(db, "company_name", typed, removed)]


def _deals(db: Database, typed: str, removed: bool = False) -> list[Item]:
    if not typed:
        rows = db.rows("deal_recent", LIMIT, removed=removed)
        return [(str(i), _one_line(t)) for i, t in rows]
    return _by_id(db, "deal", typed, removed)


def _tags(db: Database, typed: str) -> list[Item]:
    low = typed.lower().lstrip("#")
    return [(name, "") for (name,) in db.rows("tag_name", low, _after(low), LIMIT)]


def _users(db: Database, typed: str) -> list[Item]:
    items: list[Item] = []
    for name, email in db.rows("user"):
        items.append((name, email or ""))
        if email:
            items.append((email, name))
    return _matching(items, typed)


def _stages(db: Database, typed: str, pipeline: str | None) -> list[Item]:
    rows = db.rows("stage")
    if pipeline:
        chosen = [(s, p) for s, p in rows if p.lower() == pipeline.strip().lower()]
        rows = chosen or rows
    return _matching([(s, p) for s, p in rows], typed)


def _data(db: Database, source: str, typed: str, line: Line) -> list[Item]:
    if source in ("contact", "removed_contact"):
        return _contacts(db, typed, source.startswith("removed"))
    if source in ("company", "removed_company"):
        return _companies(db, typed, source.startswith("removed"))
    if source in ("deal", "removed_deal"):
        return _deals(db, typed, source.startswith("removed"))
    if source in ("followup", "interaction", "feedback"):
        return _by_id(db, source, typed)
    if source == "tag":
        return _tags(db, typed)
    if source == "user":
        return _users(db, typed)
    if source == "pipeline":
        return _matching([(name, "") for (name,) in db.rows("pipeline")], typed)
    if source == "stage":
        return _stages(db, typed, line.values.get("pipeline"))
    if source == "record":
        # `crm history deal 4`: the kind named before it says which records.
        kind = line.positionals[0] if line.positionals else ""
        return _data(db, kind, typed, line) if kind in _KINDS else []
    if source == "contact_or_tag":
        # `crm contact tag 6 ana@acme.com +vip -cold`: contacts, then +tag / -tag.
        if typed[:1] in ("+", "-"):
            return [(typed[0] + name, h) for name, h in _tags(db, typed[1:])]
        return _contacts(db, typed)
    raise KeyError(source)


# --- reading the command line ----------------------------------------------------------------


class Line:
    """What the words before the cursor say: the command, the parameter being completed."""

    def __init__(self, words: Sequence[str]) -> None:
        from crm_cli.complete_tree import TREE

        self.tree = TREE
        self.path: list[str] = []
        self.node: dict[str, Any] = TREE[""]
        self.values: dict[str, str] = {}  # option parameter -> last value given
        self.used: set[str] = set()  # option parameters given
        self.positionals: list[str] = []
        self.demo = False
        self._db: Database | None = None
        self._opened = False
        self.pending: tuple[Any, ...] | None = None  # an option waiting for its value
        only_arguments = False
        for word in words:
            if self.pending is not None:
                self._take(self.pending, word)
                self.pending = None
            elif only_arguments or not word.startswith("-") or word == "-":
                self._word(word)
            elif word == "--":
                only_arguments = True
            else:
                option = self.option(word.split("=", 1)[0])
                if option is None:
                    if self.node.get("loose"):
                        self._word(word)  # `contact tag 6 -cold`: not an option
                    continue
                self.used.add(option[4])
                if "--demo" in option[0] and not self.path:
                    self.demo = True
                if "=" in word:
                    self._take(option, word.split("=", 1)[1])
                elif option[1]:
                    self.pending = option

    def _take(self, option: tuple[Any, ...], value: str) -> None:
        self.values[option[4]] = value

    def _word(self, word: str) -> None:
        commands = self.node.get("commands", {})
        if commands and not self.positionals and word in commands:
            self.path.append(word)
            self.node = self.tree[self.command]
            self.used = set()
        else:
            self.positionals.append(word)

    def option(self, name: str) -> tuple[Any, ...] | None:
        for option in self.node.get("options", ()):
            if name in option[0]:
                return tuple(option)
        return None

    def db(self) -> Database | None:
        """The database, opened on first use; None when there is none to read."""
        if not self._opened:
            self._opened = True
            try:
                self._db = connect(database_url(demo=self.demo))
            except Exception as exc:  # noqa: BLE001 - nothing to read: no candidates
                _debug(exc)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def command(self) -> str:
        return " ".join(self.path)

    def arguments_now(self) -> list[str]:
        """The arguments the next word can be: usually one; after a variadic argument that
        others follow (`deal move IDS... STAGE`), any of them."""
        arguments = self.node.get("arguments", ())
        index = len(self.positionals)
        for i, (name, nargs) in enumerate(arguments):
            if nargs == -1:
                return [name] + [n for n, _ in arguments[i + 1 :]]
            if index < nargs:
                return [name]
            index -= nargs
        return []


def candidates(words: Sequence[str], typed: str) -> list[Item]:
    """What may come at the cursor: `words` are the complete words after `crm`, `typed` the
    word being written (possibly empty)."""
    line = Line(words)
    try:
        return _candidates(line, typed)
    finally:
        line.close()


def _candidates(line: Line, typed: str) -> list[Item]:
    if line.pending is not None:
        return _values(line, line.pending[4], typed)
    if typed.startswith("--") and "=" in typed:
        name, _, value = typed.partition("=")
        option = line.option(name)
        if option is None or not option[1]:
            return []
        return [(f"{name}={v}", h) for v, h in _values(line, option[4], value)]
    # Where unknown options are arguments (`contact tag 6 -cold`), "-c" may be either.
    loose = bool(line.node.get("loose"))
    if typed.startswith("-") and not loose:
        return _options(line, typed)
    commands = line.node.get("commands", {})
    if commands and not line.positionals:
        return _matching(list(commands.items()), typed)
    items: list[Item] = []
    for argument in line.arguments_now():
        items += _values(line, argument, typed)
    if typed.startswith("-"):
        items += _options(line, typed)
    return items


def _options(line: Line, typed: str) -> list[Item]:
    items: list[Item] = []
    for names, _takes_value, multiple, help_, param in line.node.get("options", ()):
        if param in line.used and not multiple:
            continue
        items += [(n, help_) for n in names if n.startswith(typed)]
    return items


def _values(line: Line, param: str, typed: str) -> list[Item]:
    from crm_cli.complete_tree import VALUES

    source = source_for(line.command, param)
    if source is None:
        return []
    if source in VALUES:
        return _matching(VALUES[source], typed)
    db = line.db()
    if db is None:
        return []
    try:
        return _data(db, source, typed, line)
    except Exception as exc:  # noqa: BLE001 - a locked or older database: no candidates
        _debug(exc)
        return []


def _debug(exc: BaseException) -> None:
    if os.environ.get("CRM_DEBUG"):
        print(f"crm: completion: {type(exc).__name__}: {exc}", file=sys.stderr)


def _tidy(items: list[Item]) -> list[Item]:
    """Each value once, in order without case, at most LIMIT."""
    seen: set[str] = set()
    unique: list[Item] = []
    for value, help_ in sorted(items, key=lambda item: (item[0].lower(), item[0])):
        if value and value not in seen:
            seen.add(value)
            unique.append((value, help_))
    return unique[:LIMIT]


# --- the shells ------------------------------------------------------------------------------


def split_line(text: str) -> tuple[list[str], str]:
    """A command line as the shell would split it, and the word the cursor is in (quotes
    and backslashes removed; an unclosed quote is still the word being typed)."""
    words: list[str] = []
    word: list[str] = []
    started = False
    quote = ""
    chars = iter(text)
    for char in chars:
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"':
                following = next(chars, "")
                word.append(following if following in '"\\$`' else char + following)
            else:
                word.append(char)
        elif char in "\"'":
            quote, started = char, True
        elif char == "\\":
            word.append(next(chars, ""))
            started = True
        elif char.isspace():
            if started:
                words.append("".join(word))
                word, started = [], False
        else:
            word.append(char)
            started = True
    return words, "".join(word)


def _unquote(word: str) -> str:
    words, last = split_line(word)
    return " ".join([*words, last]) if words else last


# Characters that bash reads specially in a word it inserts; they are written escaped.
_BASH_SPECIAL = set(" \t\n\"'\\$`!*?[](){}<>|&;#~")
# The default COMP_WORDBREAKS characters that can sit inside a value: an email's @, the = of
# --opt=value, a : (quotes and blanks are not among them: bash keeps a quoted word whole).
_BREAKS = set("@=:><;|&(")
# Of those, the ones readline keeps at the start of the word it replaces (rl_special_prefixes).
_KEPT = set("@$")


def _bash(words: list[str], cword: int) -> tuple[list[str], str, str, bool]:
    """`COMP_WORDS` as the user typed them: the arguments, the word being typed, the part of
    it before the text readline will replace (which the answer must leave out), and whether
    that text is in quotes (readline then adds the closing quote, and nothing is escaped).

    Bash splits `ana@acme.com` into `ana`, `@`, `acme.com` (COMP_WORDBREAKS), so pieces that
    are break characters are joined again to their neighbours; a word that the user really
    typed apart from an `@` or `=` is unlikely on a crm command line."""
    words = words + [""] * (cword + 1 - len(words))
    groups: list[list[str]] = []
    for i in range(1, cword + 1):
        breaks = bool(words[i]) and set(words[i]) <= _BREAKS
        after_break = bool(words[i - 1]) and set(words[i - 1]) <= _BREAKS
        if groups and i > 1 and (breaks or after_break):
            groups[-1].append(words[i])
        else:
            groups.append([words[i]])
    raw = "".join(groups.pop()) if groups else ""
    args = [_unquote("".join(group)) for group in groups]
    if raw[:1] in ("'", '"'):
        return args, _unquote(raw), "", True
    start = 0
    for i, char in enumerate(raw):
        if char in _BREAKS and (i == 0 or raw[i - 1] != "\\"):
            start = i if char in _KEPT else i + 1
    return args, _unquote(raw), _unquote(raw[:start]), False


def _bash_escape(value: str) -> str:
    return "".join("\\" + c if c in _BASH_SPECIAL else c for c in value)


def _zsh_escape(text: str) -> str:
    # As typer._completion_classes.ZshComplete writes them.
    return (
        text.replace('"', '""')
        .replace("'", "''")
        .replace("$", "\\$")
        .replace("`", "\\`")
        .replace(":", r"\\:")
    )


def answer(instruction: str, environ: Mapping[str, str] | None = None) -> int:
    """Answer one request of the shell's script on stdout; returns the exit code."""
    env = os.environ if environ is None else environ
    action, _, shell = instruction.partition("_")
    if action in SHELLS:  # click's spelling, bash_complete
        action, shell = shell, action
    if shell not in SHELLS:
        print(f"crm: error: no completion for the shell {shell or instruction!r}", file=sys.stderr)
        return 1
    if action == "source":
        sys.stdout.write(script(shell) + "\n")
        return 0
    if action != "complete":
        print(f"crm: error: unknown completion instruction {instruction!r}", file=sys.stderr)
        return 1
    if shell == "bash":
        words = env.get("COMP_WORDS", "").split("\n")
        try:
            cword = int(env.get("COMP_CWORD", ""))
        except ValueError:
            cword = len(words) - 1
        args, typed, lead, quoted = _bash(words, cword)
        out = []
        for value, _help in _tidy(candidates(args, typed)):
            if value[: len(lead)].lower() == lead.lower():
                rest = value[len(lead) :]
                out.append(rest if quoted else _bash_escape(rest))
        sys.stdout.write("".join(f"{line}\n" for line in out))
        return 0
    words, typed = split_line(env.get("_TYPER_COMPLETE_ARGS", ""))
    items = _tidy(candidates(words[1:], typed))
    if shell == "zsh":
        if not items:
            sys.stdout.write("_files\n")
            return 0
        lines = [
            f'"{_zsh_escape(v)}":"{_zsh_escape(h)}"' if h else f'"{_zsh_escape(v)}"'
            for v, h in items
        ]
        sys.stdout.write("_arguments '*: :((" + "\n".join(lines) + "))'\n")
        return 0
    if env.get("_TYPER_COMPLETE_FISH_ACTION") == "is-args":
        return 0 if items else 1
    for value, help_ in items:
        # As Typer writes them: each whitespace character of the help a space.
        shown = "".join(" " if c.isspace() else c for c in help_)
        sys.stdout.write(f"{value}\t{shown}\n" if help_ else f"{value}\n")
    return 0


# --- the scripts -----------------------------------------------------------------------------

# Typer's scripts (typer._completion_shared), with crm's names filled in; a test checks they
# are the same as the ones `typer` would print.
_SCRIPTS = {
    "bash": """
_crm_completion() {
    local IFS=$'\n'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \\
                   COMP_CWORD=$COMP_CWORD \\
                   _CRM_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _crm_completion crm
""",
    "zsh": """
#compdef crm

_crm_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _CRM_COMPLETE=complete_zsh crm)
}

compdef _crm_completion crm
""",
    "fish": (
        'complete --command crm --no-files --arguments "(env _CRM_COMPLETE=complete_fish '
        '_TYPER_COMPLETE_FISH_ACTION=get-args _TYPER_COMPLETE_ARGS=(commandline -cp) crm)" '
        '--condition "env _CRM_COMPLETE=complete_fish _TYPER_COMPLETE_FISH_ACTION=is-args '
        '_TYPER_COMPLETE_ARGS=(commandline -cp) crm"'
    ),
}


def script(shell: str) -> str:
    """The script that makes `shell` ask `crm` for completions."""
    return _SCRIPTS[shell].strip()


SCRIPT_OPTIONS = ("--show-completion", "--install-completion")


def script_option(args: Sequence[str]) -> int | None:
    """`crm --show-completion SHELL` and `crm --install-completion SHELL`: the script for the
    shell named; None for any other command line.

    `--show-completion` and `--install-completion` themselves are Typer's (add_completion):
    flags that find the shell crm runs in. Typer has no option with an optional value, so
    the parser would take a shell named after them for a command and still print the script
    of the shell it found; the console script answers these two forms here instead."""
    if len(args) != 2 or args[0] not in SCRIPT_OPTIONS:
        return None
    shell = args[1]
    if shell not in SHELLS:
        print(
            f"crm: error: {args[0]}: no completion for {shell!r}; choose bash, zsh or fish",
            file=sys.stderr,
        )
        return 2
    if args[0] == "--show-completion":
        print(script(shell))
        return 0
    from typer._completion_shared import install  # writes the files Typer's option writes

    _, path = install(shell=shell, prog_name=PROG, complete_var=COMPLETE_VAR)
    print(f"{shell} completion installed in {path}; it works in shells started from now on")
    return 0


# --- entry -----------------------------------------------------------------------------------


def _finish(code: int) -> None:
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass
    # Nothing to tear down: leave without the interpreter's cleanup (see crm_cli.cli.run).
    os._exit(code)


def run() -> None:
    """The `crm` console script: a completion request is answered here, without loading the
    CLI; anything else runs `crm_cli.cli.run`."""
    instruction = os.environ.get(COMPLETE_VAR)
    if instruction is not None:
        _finish(answer(instruction))
    if sys.argv[1:2] == ["tui"]:
        # The board's first screen without loading the CLI (crm_cli/tui/start.py says why);
        # it returns only for the forms it leaves to the CLI. Through importlib, as
        # crm_cli.cli.tui reaches the app: the command line never imports the TUI.
        import importlib

        importlib.import_module("crm_cli.tui.start").run_fast(sys.argv[2:])
    from crm_cli.cli import run as run_cli

    run_cli()


def iter_statements() -> Iterator[tuple[str, bool]]:
    """Every (query name, removed) this module can run: the schema test runs them all."""
    for name, sql in SQL.items():
        yield name, False
        if "{live}" in sql:
            yield name, True


if __name__ == "__main__":
    run()
