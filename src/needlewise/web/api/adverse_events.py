"""Stub: filled in by the adverse events work (see issue 3)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
