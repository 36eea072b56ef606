"""Interop tests drive stock npm clients against an in-process server (a real uvicorn)."""

from __future__ import annotations

import pytest
from support.live import LiveServer


@pytest.fixture
def server(live: LiveServer) -> LiveServer:
    return live
