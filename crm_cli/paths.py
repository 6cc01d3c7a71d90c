"""Where crm keeps its files, and how they are kept private.

`CRM_HOME=DIR` puts the config and the database under DIR (tests and demos use it). Otherwise
the platform's user directories are used, as platformdirs knows them.

Files holding customer data (the database and its -wal/-shm, backups, the config with its
database URL) are private whatever the umask: 0600 files in 0700 directories. A file is
created with its final mode (never created readable and narrowed afterwards), and SQLite
gives the -wal and -shm it creates the mode of the main file.

No SQLAlchemy here: `sqlite_url` and `sqlite_path` are plain string work, so that `crm --help`
and shell completion do not pay for it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

APP = "crm"

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def home_override() -> Path | None:
    value = os.environ.get("CRM_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    home = home_override()
    if home is not None:
        return home
    import platformdirs  # only when no CRM_HOME is set

    return platformdirs.user_config_path(APP)


def data_dir() -> Path:
    home = home_override()
    if home is not None:
        return home
    import platformdirs

    return platformdirs.user_data_path(APP)


def config_path() -> Path:
    return config_dir() / "config.toml"


def default_db_path() -> Path:
    return data_dir() / "crm.db"


def demo_db_path() -> Path:
    """The demo database: a separate file, never the user's real one."""
    return data_dir() / "demo.db"


# --- private files ---------------------------------------------------------------------------


def private_dir(path: Path) -> Path:
    """Create the directory `path` (and its parents) and make `path` itself 0700.

    Only the leaf is crm's own directory: parents that have to be created get the usual mode
    (they are `~/.local/share` and the like), and a user's home directory or a file-system
    root given as CRM_HOME is never narrowed. A directory crm may not chmod (someone else's)
    is left as it is rather than failing the command.
    """
    path.mkdir(parents=True, exist_ok=True)
    if not _is_shared_dir(path):
        try:
            os.chmod(path, PRIVATE_DIR)
        except PermissionError:
            pass
    return path


def _is_shared_dir(path: Path) -> bool:
    try:
        resolved = path.resolve()
        home = Path.home().resolve()
    except (OSError, RuntimeError):
        return True  # when in doubt, leave the mode alone
    return resolved == home or resolved == Path(resolved.anchor)


def private_file(path: Path) -> None:
    """Make sure `path` exists with mode 0600: created empty with that mode (O_EXCL, so never
    readable by others for a moment), or narrowed to it when it exists already.

    SQLite treats an empty file as a new database, and creates the -wal and -shm beside it
    with the main file's mode; so calling this before the first connection is enough.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        try:
            os.chmod(path, PRIVATE_FILE)
        except PermissionError:
            pass  # someone else's file (a shared database): theirs to set
        return
    os.close(fd)
    # O_CREAT's mode is filtered by the umask; 0600 survives any usual umask, but a umask
    # such as 0277 would not: set it outright.
    os.chmod(path, PRIVATE_FILE)


def private_sqlite(path: Path) -> None:
    """`private_file` for a SQLite database and the -wal/-shm/-journal beside it that exist
    already (made by an older crm, with the umask's mode)."""
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            try:
                os.chmod(side, PRIVATE_FILE)
            except (PermissionError, FileNotFoundError):
                pass


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created 0600) for the block.

    An advisory `flock`: it serialises crm processes with each other (two `config set` at
    once, two first runs of `crm --demo`), and the kernel releases it if the process dies.
    On Windows there is no flock; the block runs unlocked there.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# --- SQLite URLs -----------------------------------------------------------------------------

# SQLAlchemy reads `?` as the start of the query string and percent-decodes the rest; `#` and
# `%` are special in SQLite's own URI filenames. A path with none of them keeps the plain,
# readable form; one with any of them is written as a SQLite URI filename (`uri=true`),
# percent-encoded once for SQLite and once more for SQLAlchemy.
_SPECIAL = re.compile(r"[?#%]")


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite file `path`; `sqlite_path` reads it back exactly."""
    text = str(path)
    if not _SPECIAL.search(text):
        return f"sqlite:///{text}"
    uri = path.absolute().as_uri()  # file:///..., every special character %-encoded
    return "sqlite:///" + uri.replace("%", "%25") + "?uri=true"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (either form `sqlite_url` writes, or one a user wrote),
    or None for other databases and in-memory SQLite. Decoded the way SQLAlchemy and SQLite
    decode it, so this names the file the engine really opens."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    rest = url.split(":///", 1)[1]
    database, _, query = rest.partition("?")
    database = unquote(database)
    if not database or database == ":memory:":
        return None
    if database.startswith("file:") and "uri=true" in query.split("&"):
        return _uri_file(database)
    return Path(database)


def _uri_file(uri: str) -> Path | None:
    """The path in a SQLite URI filename (`file:PATH?query#fragment`)."""
    body = re.split(r"[?#]", uri.removeprefix("file:"), maxsplit=1)[0]
    params = uri.partition("?")[2].partition("#")[0].split("&")
    if "mode=memory" in params or body in ("", ":memory:"):
        return None
    if body.startswith("//"):
        # file://HOST/path: SQLite accepts only an empty host or localhost.
        body = "/" + body[2:].partition("/")[2]
    path = unquote(body)
    if re.match(r"^/[A-Za-z]:", path):
        path = path[1:]  # file:///C:/x on Windows
    return Path(path)
