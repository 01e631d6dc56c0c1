"""Stub: filled in by the screenings work (see issue 3)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
