"""Stub: filled in by the consents work (see issue 3)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
