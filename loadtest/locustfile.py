"""Locust entry point: `locust -f loadtest/locustfile.py` with LOADTEST_PROFILE and LOADTEST_TOKENS set.

`scripts/loadtest PROFILE` sets everything up and runs this; run it by hand only against a server you
seeded (LOADTEST_TOKENS: the credentials CSV; LOADTEST_REPORT_DIR: where the recorder writes;
LOADTEST_MLLP: HOST:PORT of the server's MLLP listener for the HL7 feed users, unset for API feeds).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from locust import events

from loadtest import shapes, users, watchdog
from loadtest.context import RunContext
from loadtest.credentials import Credentials
from loadtest.profiles import PROFILES
from loadtest.record import Recorder

PROFILE = PROFILES[os.environ.get("LOADTEST_PROFILE", "ci")]
MLLP = os.environ.get("LOADTEST_MLLP") or None
WallBoard, NursePhone, HospitalFeed, OpsViewer = users.configured(PROFILE, "mllp" if MLLP else "api")
ProfileShape = shapes.shape_for(PROFILE)


@events.init.add_listener  # type: ignore[untyped-decorator]
def _init(environment: Any, **_: Any) -> None:
    out = Path(os.environ.get("LOADTEST_REPORT_DIR", "loadtest/reports/manual"))
    creds = Credentials.load(Path(os.environ["LOADTEST_TOKENS"]))
    environment.wb = RunContext(PROFILE, creds, Recorder(out), environment, MLLP)
    environment.events.request.add_listener(environment.wb.recorder.on_request)


@events.test_stopping.add_listener  # type: ignore[untyped-decorator]
def _stopping(environment: Any, **_: Any) -> None:
    watchdog.start(environment, float(os.environ.get("LOADTEST_STOP_WATCHDOG_S") or watchdog.DEFAULT_AFTER_S))


@events.test_stop.add_listener  # type: ignore[untyped-decorator]
def _stop(environment: Any, **_: Any) -> None:
    environment.wb.recorder.save()
