"""Whether the tests run in CI, where nothing may skip: a missing tool fails instead."""

from __future__ import annotations

import os

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
