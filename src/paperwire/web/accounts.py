"""Routes for issue 4 (placeholder: filled by its owner)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
api_router = APIRouter()
