"""Feeds over the real write path: a migrated store (SQLite and PostgreSQL), an in-process event log, two
wards of four beds, and the HL7 feed writing through `Ingest`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from tests.support import SETUP
from whiteboard.eventlog import EventLog, open_event_log
from whiteboard.feeds.hl7_feed import Hl7Feed
from whiteboard.feeds.locations import LocationMap
from whiteboard.live.ingest import Ingest
from whiteboard.metrics import Metrics
from whiteboard.settings import Settings
from whiteboard.store import Store

ZONE = ZoneInfo("Europe/London")
BEDS = [("B1", "Bay 1"), ("B2", "Bay 1"), ("B3", "Bay 2"), ("B4", "Bay 2")]


@pytest.fixture
async def elog() -> AsyncIterator[EventLog]:
    log = open_event_log("memory://")
    await log.connect()
    yield log
    await log.aclose()


@pytest.fixture
async def ingest(store: Store, elog: EventLog) -> AsyncIterator[Ingest]:
    ing = Ingest(store, elog, Metrics(), Settings(outbox_sweep_secs=0.05))
    await ing.start()
    yield ing
    await ing.aclose()


@pytest.fixture
async def wards(store: Store) -> tuple[str, str]:
    """Two fresh wards (unique ids), four empty beds each."""
    ids = ("wa-" + uuid.uuid4().hex[:6], "wb-" + uuid.uuid4().hex[:6])
    await store.add_wards([(w, w, list(BEDS)) for w in ids], actor=SETUP)
    return ids


@pytest.fixture
def feed_metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def feed(ingest: Ingest, feed_metrics: Metrics) -> Hl7Feed:
    return Hl7Feed(ingest, LocationMap(), ZONE, metrics=feed_metrics)
