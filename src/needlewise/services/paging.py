"""Pagination for every list endpoint: ``?limit=`` (1-100, default 50) and ``?offset=``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")
MAX_LIMIT = 100


@dataclass(frozen=True)
class PageParams:
    limit: int = 50
    offset: int = 0


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total number of matching records."""

    items: list[T]
    total: int = Field(description="How many records match the filters, over all pages")
    limit: int
    offset: int
