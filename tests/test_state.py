"""The shared state's readiness probe (whiteboard/state.py)."""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

import pytest

from whiteboard.app import build_state
from whiteboard.settings import Settings


async def test_a_probe_cancelled_before_its_checks_start_leaves_no_unawaited_coroutine(tmp_path: Path) -> None:
    # CI once failed on "coroutine MemoryEventLog.ping was never awaited": a /readyz probe cancelled by a
    # shutdown while its two checks were queued but not yet started.
    state = build_state(Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        probe = asyncio.ensure_future(state.probe())
        await asyncio.sleep(0)  # the probe reaches its gather; the checks are scheduled, not started
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        del probe
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
