"""Attack (issue 9, finding 10): patient search treated ``%`` and ``_`` as wildcards.

``q`` matches the start of a given or family name, literally: ``%`` listed every patient
of the clinic and ``_`` any one character. Both databases (SQLite's LIKE and
PostgreSQL's differ: each is checked).
"""

from __future__ import annotations

import pytest

from needlewise.security.roles import Role
from support.service import Service

NAMES = [
    ("Ann", "Lee"),
    ("Bea", "O_Neil"),
    ("Cal", "100%Synthetic"),
    ("Dee", "Back\\slash"),
    ("Eve", "Anders"),
]


def found(service: Service, q: str) -> list[str]:
    response = service.client.get(
        "/api/patients", params={"q": q}, headers=service.headers(Role.front_desk)
    )
    assert response.status_code == 200, response.text
    return sorted(p["family_name"] for p in response.json()["items"])


def test_wildcards_are_literal(service: Service) -> None:
    for given, family in NAMES:
        response = service.client.post(
            "/api/patients",
            json={"given_name": given, "family_name": family},
            headers=service.headers(Role.front_desk),
        )
        assert response.status_code == 201, response.text

    assert found(service, "%") == []
    assert found(service, "_") == []
    assert found(service, "%a") == []
    assert found(service, "O_") == ["O_Neil"]
    assert found(service, "OXNeil") == []
    assert found(service, "100%") == ["100%Synthetic"]
    assert found(service, "Back\\") == ["Back\\slash"]
    assert found(service, "\\") == []
    assert found(service, "an") == ["Anders", "Lee"]  # given "Ann" and family "Anders"
    assert found(service, "A") == ["Anders", "Lee"]


@pytest.mark.parametrize("q", ["%%%", "_%_", "\\%", "[a-z]", "*"])
def test_patterns_never_list_the_clinic(service: Service, q: str) -> None:
    service.client.post(
        "/api/patients",
        json={"given_name": "Fay", "family_name": "Synthetic"},
        headers=service.headers(Role.front_desk),
    )
    assert found(service, q) == []
