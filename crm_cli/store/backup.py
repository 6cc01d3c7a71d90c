"""Backups of SQLite databases, their verification, and encryption of backup files.

- Copies go through SQLite's online backup API: a consistent snapshot even while other
  processes write, which copying the file (and its -wal) by hand does not give.
- Every file written here appears under its final name complete or not at all: it is
  written to a private temporary file (0600, a name of its own) in the same directory,
  flushed to disk, and renamed.
- A file about to be restored is checked for what it claims to be: a sound SQLite file
  (`integrity_check`, `foreign_key_check`) holding exactly the tables and columns that its
  schema revision has. The reference is built by running the migrations up to that revision
  on an empty database, so it follows new migrations with no list to keep up to date.
- Encryption: a key is derived from the passphrase with scrypt (memory-hard, so guessing is
  slow on GPUs too), and the file is encrypted with AES-256-GCM in 1 MiB chunks, so a
  database of any size is never held in memory. Each chunk's nonce carries its number and a
  last-chunk flag, and the header is authenticated with every chunk: reordering, cutting or
  editing any byte fails the check. The header also holds a short check value derived from
  the passphrase, so a wrong passphrase is told apart from a damaged file.
"""

from __future__ import annotations

import functools
import hmac
import os
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from crm_cli import paths
from crm_cli.errors import DatabaseError

SQLITE_MAGIC = b"SQLite format 3\x00"
SIDECARS = ("-wal", "-shm", "-journal")


def _read_only(path: Path) -> str:
    """A read-only SQLite URI; `as_uri` escapes the # and ? a file name may hold."""
    return f"{path.resolve().as_uri()}?mode=ro"


def remove_database(path: Path) -> None:
    """Delete a SQLite file and the -wal/-shm/-journal beside it."""
    for suffix in ("", *SIDECARS):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@contextmanager
def atomic_private_file(target: Path) -> Iterator[Path]:
    """A private temporary file beside `target` to write into; renamed to `target` when the
    block ends, deleted (with any SQLite sidecars) if it raises. `target` itself is never
    touched until the rename, so it holds the old content or the complete new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(fd)
    partial = Path(name)
    try:
        os.chmod(partial, paths.PRIVATE_FILE)
        yield partial
        _fsync(partial)
        partial.replace(target)
    except BaseException:
        remove_database(partial)
        raise


def private_temp(directory: Path, prefix: str) -> Path:
    """A new, empty 0600 file in `directory` for the caller to fill and remove."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
    os.close(fd)
    os.chmod(name, paths.PRIVATE_FILE)
    return Path(name)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- copying -------------------------------------------------------------------------------


def sqlite_backup(source: Path, target: Path) -> None:
    """Copy `source` to `target` (0600) atomically: a partial copy never appears under
    `target`. Used by `crm db backup` and for the copies made before a migration."""
    with atomic_private_file(target) as partial:
        sqlite_snapshot(source, partial)


def sqlite_snapshot(source: Path, dest: Path) -> None:
    """Write a consistent copy of `source` into the (empty or new) file `dest`."""
    try:
        src = sqlite3.connect(_read_only(source), uri=True, timeout=15)
    except sqlite3.Error as exc:
        raise DatabaseError(f"backup of {source} failed: {exc}") from None
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
            # A backup is one file: fold the WAL in so the copy stands alone.
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"backup of {source} failed: {exc}") from None
    finally:
        src.close()


def raw_copy(source: Path, dest: Path) -> None:
    """Copy the bytes of `source` and its -wal into `dest` (already private), unchanged.

    For files that must be examined as they are (a damaged page copied through the backup
    API could be read differently), and for keeping a copy of a file that is not SQLite."""
    shutil.copyfile(source, dest)
    wal = source.with_name(source.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        dest_wal = dest.with_name(dest.name + "-wal")
        paths.private_file(dest_wal)
        shutil.copyfile(wal, dest_wal)


def keep_copy(source: Path, target: Path) -> None:
    """Keep `source` as `target` (0600) before it is replaced: through the backup API when
    it can be read as a database, byte for byte when it cannot (a damaged file is kept as it
    was, so nothing is lost by replacing it)."""
    try:
        sqlite_backup(source, target)
    except DatabaseError:
        with atomic_private_file(target) as partial:
            raw_copy(source, partial)


def sqlite_restore(source: Path, target: Path) -> None:
    """Replace the database at `target` with the (verified) database `source`, in one step for
    other processes that have `target` open."""
    paths.private_file(target)
    try:
        src = sqlite3.connect(_read_only(source), uri=True)
    except sqlite3.Error as exc:
        raise DatabaseError(f"restore from {source} failed: {exc}") from None
    try:
        dst = sqlite3.connect(target, timeout=15)
        try:
            # The backup API writes through SQLite's locks in one transaction, so a process
            # that has the database open sees either the old or the restored content, never
            # a mix, and a failure part way leaves the old content.
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"restore from {source} failed: {exc}") from None
    finally:
        src.close()


def is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def page_size(path: Path) -> int | None:
    """The page size in the header of a SQLite file, or None when it cannot be read."""
    try:
        with path.open("rb") as fh:
            header = fh.read(18)
    except OSError:
        return None
    if len(header) < 18 or header[:16] != SQLITE_MAGIC:
        return None
    size = int.from_bytes(header[16:18], "big")
    return 65536 if size == 1 else size


def set_page_size(path: Path, size: int) -> None:
    """Rewrite the database at `path` with pages of `size` bytes.

    The backup API cannot copy into a WAL database whose page size differs; a backup with
    other pages (made by another SQLite, or by hand) is first brought to the live size."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute(f"PRAGMA page_size = {int(size)}")
        conn.execute("VACUUM")
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot convert {path} to {size}-byte pages: {exc}") from None
    finally:
        conn.close()


def to_rollback_journal(path: Path) -> None:
    """Fold a WAL into the file and leave it in rollback-journal mode: one self-contained file."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot finish {path}: {exc}") from None
    finally:
        conn.close()


# --- checking ------------------------------------------------------------------------------


def sqlite_problems(path: Path, *, limit: int = 20) -> list[str]:
    """What is wrong with the SQLite file at `path`: its structure (`integrity_check`) and its
    references (`foreign_key_check`). Empty when it is sound; never raises for a bad file."""
    if not is_sqlite_file(path):
        return ["not a SQLite database (its first bytes are not SQLite's header)"]
    problems: list[str] = []
    try:
        conn = sqlite3.connect(_read_only(path), uri=True, timeout=15)
        try:
            rows = [str(r[0]) for r in conn.execute(f"PRAGMA integrity_check({int(limit)})")]
            if rows != ["ok"]:
                return rows
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                first = broken[0]
                problems.append(
                    f"{len(broken)} row(s) point at records that do not exist "
                    f"(first: {first[0]} row {first[1]} -> {first[2]})"
                )
        finally:
            conn.close()
    except sqlite3.Error as exc:  # "database disk image is malformed", "file is not a database"
        problems.append(str(exc))
    return problems


def is_damage(problem: str) -> bool:
    """Whether a problem from `sqlite_problems` is damage to the file itself (as opposed to
    rows that point at missing records)."""
    return "point at records that do not exist" not in problem


def stored_revision(path: Path) -> str | None:
    """The schema revision recorded in a SQLite file, or None when it has none."""
    try:
        conn = sqlite3.connect(_read_only(path), uri=True)
        try:
            rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


Schema = dict[str, frozenset[str]]


def schema_of(path: Path) -> Schema:
    """Table name -> column names of a SQLite file (SQLite's own tables left out)."""
    conn = sqlite3.connect(_read_only(path), uri=True)
    try:
        names = [
            str(r[0])
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%'"
                " ESCAPE '\\'"
            )
        ]
        return {
            name: frozenset(
                str(c[1]) for c in conn.execute(f"PRAGMA table_info({_quote_name(name)})")
            )
            for name in names
        }
    finally:
        conn.close()


def _quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def known_revisions() -> set[str]:
    """Every schema revision this crm ships."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from crm_cli.store.migrate import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return {r.revision for r in ScriptDirectory.from_config(config).walk_revisions()}


@functools.cache
def expected_schema(revision: str) -> Schema:
    """The tables and columns a crm database at `revision` has: the migrations up to it, run
    on an empty database (about half a second, once per process)."""
    from alembic import command

    from crm_cli.store.engine import make_engine
    from crm_cli.store.migrate import alembic_config

    with tempfile.TemporaryDirectory(prefix="crm-schema-") as tmp:
        reference = Path(tmp) / "reference.db"
        engine = make_engine(paths.sqlite_url(reference))
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            engine.dispose()
        return schema_of(reference)


def schema_difference(actual: Schema, expected: Schema) -> str | None:
    """The first way `actual` differs from `expected`, in words, or None when they agree."""
    missing = sorted(expected.keys() - actual.keys())
    if missing:
        return f"it has no table {missing[0]!r}"
    extra = sorted(actual.keys() - expected.keys())
    if extra:
        return f"it has a table {extra[0]!r} that crm does not make"
    for table in sorted(expected):
        lacks = sorted(expected[table] - actual[table])
        if lacks:
            return f"table {table!r} lacks the column {lacks[0]!r}"
        more = sorted(actual[table] - expected[table])
        if more:
            return f"table {table!r} has a column {more[0]!r} that crm does not make"
    return None


def verify_crm_database(path: Path, label: str, *, revision: str | None = None) -> str:
    """Check that `path` is a sound crm database; returns its schema revision.

    Sound: integrity and references check out, it records one schema revision that this crm
    knows (`revision`, when given), and its tables and columns are exactly that revision's.
    Raises DatabaseError naming `label` and the first thing wrong."""
    problems = sqlite_problems(path)
    if problems:
        if not is_sqlite_file(path):
            raise DatabaseError(f"{label} is not a crm database: {problems[0]}")
        if not is_damage(problems[0]):
            raise DatabaseError(f"{label} has broken references: {problems[0]}")
        raise DatabaseError(f"{label} is damaged: {' '.join(problems[0].split())}")
    found = stored_revision(path)
    if found is None:
        raise DatabaseError(f"{label} is not a crm database: it records no schema revision")
    if found not in known_revisions():
        raise DatabaseError(
            f"{label} has schema revision {found!r}, which this crm does not know "
            "(made by a newer crm?)"
        )
    if revision is not None and found != revision:
        raise DatabaseError(f"{label} is at schema revision {found!r}, expected {revision!r}")
    try:
        difference = schema_difference(schema_of(path), expected_schema(found))
    except sqlite3.Error as exc:
        raise DatabaseError(f"{label} cannot be read as a crm database: {exc}") from None
    if difference is not None:
        raise DatabaseError(f"{label} is not a crm database of revision {found}: {difference}")
    return found


# --- encryption ----------------------------------------------------------------------------

MAGIC = b"CRMENC\x00"
FORMAT_VERSION = 1
CHUNK = 1 << 20
TAG = 16
# scrypt cost: 2**17 x 128 x r bytes = 128 MiB and about half a second here (OWASP's
# recommendation). Stored in each file, so it can be raised later without breaking old files.
SCRYPT_LOG2_N = 17
SCRYPT_R = 8
SCRYPT_P = 1
_HEADER = struct.Struct(">7sBBBB16s7sI16s")  # magic, version, log2 n, r, p, salt, nonce prefix,
#                                               chunk size, passphrase check


@dataclass(frozen=True)
class _Header:
    log2_n: int
    r: int
    p: int
    salt: bytes
    prefix: bytes
    chunk: int
    check: bytes

    def pack(self) -> bytes:
        return _HEADER.pack(
            MAGIC,
            FORMAT_VERSION,
            self.log2_n,
            self.r,
            self.p,
            self.salt,
            self.prefix,
            self.chunk,
            self.check,
        )


def is_encrypted(path: Path) -> bool:
    """Whether `path` is a backup encrypted by crm (by its first bytes)."""
    try:
        with path.open("rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> tuple[bytes, bytes]:
    """The AES key and the passphrase check value."""
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    out = Scrypt(salt=salt, length=48, n=2**log2_n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return out[:32], out[32:]


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _chunks(fh: BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    """The chunks of a stream, each with whether it is the last (one read ahead)."""
    current = fh.read(size)
    while True:
        following = fh.read(size) if len(current) == size else b""
        yield current, not following
        if not following:
            return
        current = following


def encrypt_file(source: Path, target: Path, passphrase: str) -> None:
    """Encrypt `source` into `target` (0600, written atomically)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt = os.urandom(16)
    key, check = _derive(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
    header = _Header(SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, salt, os.urandom(7), CHUNK, check)
    head = header.pack()
    aead = AESGCM(key)
    with atomic_private_file(target) as partial, source.open("rb") as src:
        with partial.open("wb") as out:
            out.write(head)
            for counter, (chunk, last) in enumerate(_chunks(src, CHUNK)):
                out.write(aead.encrypt(_nonce(header.prefix, counter, last), chunk, head))


def _read_header(fh: BinaryIO, source: Path) -> tuple[_Header, bytes]:
    head = fh.read(_HEADER.size)
    if len(head) < _HEADER.size or head[: len(MAGIC)] != MAGIC:
        raise DatabaseError(f"{source} is not a backup encrypted by crm")
    _magic, version, log2_n, r, p, salt, prefix, chunk, check = _HEADER.unpack(head)
    if version != FORMAT_VERSION:
        raise DatabaseError(
            f"{source} is encrypted in format {version}, which this crm does not know"
        )
    # Bounds, so that a forged header cannot ask for gigabytes of memory.
    if not (10 <= log2_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16 and 1 <= chunk <= 1 << 26):
        raise DatabaseError(f"{source} has a damaged header")
    return _Header(log2_n, r, p, salt, prefix, chunk, check), head


def decrypt_file(source: Path, dest: Path, passphrase: str) -> None:
    """Decrypt `source` into the file `dest` (the caller's private temporary file).

    A wrong passphrase, or a file changed or cut after it was encrypted, raises
    DatabaseError; `dest` may then hold part of the data, and the caller removes it."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    with source.open("rb") as src:
        header, head = _read_header(src, source)
        key, check = _derive(passphrase, header.salt, header.log2_n, header.r, header.p)
        if not hmac.compare_digest(check, header.check):
            raise DatabaseError(f"wrong passphrase for {source}")
        aead = AESGCM(key)
        with dest.open("wb") as out:
            for counter, (chunk, last) in enumerate(_chunks(src, header.chunk + TAG)):
                try:
                    out.write(aead.decrypt(_nonce(header.prefix, counter, last), chunk, head))
                except InvalidTag:
                    raise DatabaseError(
                        f"{source} is damaged or was changed after it was encrypted "
                        f"(part {counter + 1} fails its check)"
                    ) from None
            out.flush()
            os.fsync(out.fileno())
