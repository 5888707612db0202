"""Where the SQL files, migrations and bundled data live."""
from __future__ import annotations

import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"


def _project_dir(name: str) -> Path:
    """`sql/` and `migrations/` sit at the project root (editable install) or in share/cinesync."""
    for candidate in (PACKAGE_DIR.parent / name, Path(sys.prefix) / "share" / "cinesync" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"cannot find the {name}/ folder next to the bot package or in {sys.prefix}/share/cinesync; "
        "reinstall CineSync with `pip install -e .` from the project folder"
    )


def sql_dir() -> Path:
    return _project_dir("sql")


def migrations_dir() -> Path:
    return _project_dir("migrations")
