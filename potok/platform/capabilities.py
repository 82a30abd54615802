"""What a role may do outside document streams: administer users, read the audit log…

Packages declare their capabilities the same way (STYLE.md habit 8): the platform's own are
in ``PLATFORM_CAPABILITIES``; ``create_app`` collects every package's into one registry, and
a role's capabilities are checked against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from potok.errors import N_


@dataclass(frozen=True)
class Capability:
    key: str
    label: str
    description: str


USERS = "users"
AUDIT = "audit"
SYSTEM = "system"

PLATFORM_CAPABILITIES = (
    Capability(
        USERS,
        N_("Users and organisation"),
        N_("Create and change users, roles, departments and deputies; end users' sessions."),
    ),
    Capability(AUDIT, N_("Audit log"), N_("Read the audit log of logins and changes.")),
    Capability(
        SYSTEM,
        N_("System"),
        N_("See the server settings, the mail outbox and send a test e-mail."),
    ),
)


class CapabilityRegistry:
    def __init__(self, capabilities: Iterable[Capability] = ()) -> None:
        self._items: dict[str, Capability] = {}
        for capability in capabilities:
            self.register(capability)

    def register(self, capability: Capability) -> None:
        if capability.key in self._items:
            raise ValueError(f"capability {capability.key!r} is registered twice")
        self._items[capability.key] = capability

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[Capability]:
        return iter(self._items.values())

    def keys(self) -> list[str]:
        return list(self._items)
