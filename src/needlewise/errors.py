"""Errors every door (CLI, API, web) turns into a clear message and a proper status.

:class:`InputError` means the caller sent something unusable: the message says what is
wrong and ``where`` says where (a JSON path such as ``$.entry[2].resource.status``).
Nothing has been changed when it is raised. It never carries patient data beyond the
location and the offending field's type or code.
"""

from __future__ import annotations


class InputError(ValueError):
    """Unusable input. ``str(error)`` is one line: ``<where>: <problem>``."""

    def __init__(self, problem: str, where: str = "$") -> None:
        super().__init__(problem)
        self.problem = problem
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"

    def to_json(self) -> dict[str, str]:
        return {"code": "invalid-input", "message": self.problem, "location": self.where}
