"""Where crm keeps its files.

`CRM_HOME=DIR` puts the config and the database under DIR (tests and demos use it). Otherwise
the platform's user directories are used, as platformdirs knows them.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "crm"


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


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"
