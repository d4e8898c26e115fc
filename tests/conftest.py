"""Shared fixtures. `shared_data` points at ../shared/data (the real benchmark sets);
tests that need it are skipped, with the reason, only where it is absent (a user's
clone). In CI it is present, and CI=true turns its absence into a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing; CI must run the tests that need it")
        pytest.skip(f"needs the shared benchmark data at {SHARED_DATA} (beside the repository)")
    return SHARED_DATA
