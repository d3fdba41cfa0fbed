"""How hard the fault suite pushes: `WHITEBOARD_FAULTS_PROFILE=quick` (the default, in the README's test
command: a few faults and about a second of load between them per scenario) or `long` (`scripts/faults`:
more rounds, longer loads, a bigger storm, more model-based examples)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Profile:
    name: str
    rounds: int  # faults per scenario
    load_secs: float  # load between faults
    storm_clients: int
    examples: int  # hypothesis examples of the model-based test
    steps: int  # its steps per example


PROFILES = {
    "quick": Profile("quick", rounds=2, load_secs=1.0, storm_clients=2000, examples=2, steps=5),
    "long": Profile("long", rounds=8, load_secs=3.0, storm_clients=5000, examples=25, steps=25),
}


def current_profile() -> Profile:
    name = os.environ.get("WHITEBOARD_FAULTS_PROFILE", "quick")
    if name not in PROFILES:
        raise pytest.UsageError(f"WHITEBOARD_FAULTS_PROFILE={name!r}: use one of {', '.join(PROFILES)}")
    return PROFILES[name]
