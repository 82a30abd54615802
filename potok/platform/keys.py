"""The secret key that signs cookies and tokens.

``POTOK_SECRET_KEY`` wins; otherwise a key is generated once into ``<data dir>/secret_key``
(mode 0600) and reused by every later start and every worker sharing the folder.
"""

from __future__ import annotations

import os
import secrets

from potok.errors import SettingsError
from potok.settings import Settings

KEY_FILE = "secret_key"
MIN_LENGTH = 32


def secret_key(settings: Settings) -> str:
    if settings.secret_key:
        if len(settings.secret_key) < MIN_LENGTH:
            raise SettingsError(f"POTOK_SECRET_KEY must be at least {MIN_LENGTH} characters long")
        return settings.secret_key
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / KEY_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) < MIN_LENGTH:
            raise SettingsError(
                f"{path} is damaged (too short); delete it to make a new key"
            ) from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
