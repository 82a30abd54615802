"""The main navigation, contributed by packages.

Each package hands ``create_app`` a function from the current user to the nav items that
user may see (the platform's own: home and administration; runtime adds streams and the
inbox; the designer, route editor and report generator add theirs). The layout shows them
in ``order``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from potok.errors import N_
from potok.platform.auth import CurrentUser
from potok.platform.capabilities import AUDIT, SYSTEM, USERS


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    order: int
    path_params: Mapping[str, str] = field(default_factory=dict)
    translate: bool = True
    description: str = ""  # a message id, shown on the home page tile
    labels: Mapping[str, str] | None = None  # a metadata label {"en": …, "ru": …}

    def text(self, translator: Any) -> str:
        """The item's name in the reader's language."""
        if self.labels:
            return str(self.labels.get(translator.language) or self.label)
        return str(translator.gettext(self.label)) if self.translate else self.label


# A provider gets the user, the app's services (e.g. to see which streams exist) and the
# request's database session when there is one (``None``: open your own).
NavProvider = Callable[[CurrentUser, Any, Any], list[NavItem]]


def platform_nav(user: CurrentUser, _services: Any, _session: Any = None) -> list[NavItem]:
    items = [NavItem(N_("Home"), "home", order=0)]
    if any(user.can(capability) for capability in (USERS, AUDIT, SYSTEM)):
        items.append(
            NavItem(
                N_("Administration"),
                "admin:index",
                order=900,
                description=N_("Users, roles, departments, deputies, the audit log and mail."),
            )
        )
    return items
