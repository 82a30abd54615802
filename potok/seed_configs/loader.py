"""Loading a shipped configuration into a new installation, once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.errors import SettingsError
from potok.metadata import folders, store
from potok.platform.models import SystemState

CONFIGS = Path(__file__).parent
LOADED = "default_configuration"


def available() -> list[str]:
    return sorted(path.name for path in CONFIGS.iterdir() if (path / "stream").is_dir())


def load_default(session: Session, name: str, *, now: datetime) -> str | None:
    """Import configuration ``name`` unless this database already had one loaded (or has
    published metadata of its own). Returns the name loaded, or None when nothing was done."""
    if name == "none":
        return None
    if session.scalar(select(SystemState).where(SystemState.key == LOADED)) is not None:
        return None
    if store.published(session):
        return None
    if name not in available():
        raise SettingsError(
            f"POTOK_DEFAULT_CONFIG: no configuration {name!r}; "
            f"choose one of {', '.join(available())} or none"
        )
    found = folders.validate_folder(CONFIGS / name)
    if found.problems:
        raise SettingsError(
            f"the shipped configuration {name!r} has problems: "
            + "; ".join(str(item) for item in found.problems[:5])
        )
    store.import_documents(session, found.documents, author="system", now=now)
    session.add(
        SystemState(key=LOADED, value={"name": name, "at": now.isoformat()}, updated_at=now)
    )
    return name
