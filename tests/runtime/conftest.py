"""Fixtures the runtime's screen tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.builders import Doc, Publisher, field, stream


@pytest.fixture
def publish_clients(publisher: Publisher) -> Callable[..., None]:
    """Publishes a small "clients" stream — a searchable name, numbers CL-0001…, the document
    owned by its ``manager`` — with the grants ``access``, and ``more`` streams beside it."""

    def publish(access: dict[str, Any], *more: Doc) -> None:
        publisher.publish(
            stream(
                "clients",
                field("name", required=True, searchable=True, in_list=True),
                field("manager", "user"),
                numbering={"template": "CL-{counter:4}"},
                owner_field="manager",
                access=access,
            ),
            *more,
        )

    return publish
