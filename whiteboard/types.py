"""Shared aliases. No logic lives here."""

from __future__ import annotations

from typing import Any, NewType

WardId = NewType("WardId", str)
BedId = NewType("BedId", str)
Epoch = NewType("Epoch", str)
JSON = Any
JSONDict = dict[str, Any]
