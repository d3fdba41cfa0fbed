"""The hospital feed: a PAS admitting, transferring, discharging and updating patients, over MLLP or the API.

- `MllpFeedBase` (the default): HL7 v2 ADT over MLLP, as a PAS or an interface engine sends it: A01 admit,
  A02 transfer, A03 discharge, A08 update, one persistent connection, each message with its own MSH-10,
  the next one sent only after the ACK. Each message is a Locust request of its own (`MLLP ADT^A01` …),
  failed when the ACK is AE or AR (the reason from MSA-3), names another MSH-10, or does not come within
  `MLLP_TIMEOUT_S`. PV1-3 is `ward^^bed` with the board's own ids: what a server without a location map
  takes (`whiteboard.feeds.locations`), which is how `scripts/loadtest` starts its server.
- `ApiFeedBase`: the same actions as PATCHes with an integration engine's bearer token and If-Match (for a
  deployment whose MLLP port the load generator cannot reach, or to load the API write path alone).

Both read a ward over the API before acting (`GET /api/wards/[ward] (feed)`, the feed credential), so they
act on the board as it is now: the nurses clean beds, and the seeding decided who is where. Each feed user
owns its own slice of the wards (two PASes never race for a bed) and admits patients from its own block of
test NHS numbers (`loadtest.patients`), so a refusal is a real one, never the load test's own doing.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from typing import Any

from locust import task

from loadtest import adt_messages
from loadtest import profiles as P
from loadtest.client import Client
from loadtest.mllp_client import AckTimeout, MllpConnection, endpoint
from loadtest.patients import CONSULTANTS, patient

MLLP_TIMEOUT_S = 10.0  # connect, and each message's ACK


class FeedBase(Client):
    abstract = True

    def on_start(self) -> None:
        self.cred = self.ctx.creds.take("feed")
        self.auth = {"Authorization": f"Bearer {self.cred['token']}", "Accept": "application/json"}
        self.rng = random.Random()
        index, count = self.ctx.next_index("feed"), max(1, self.ctx.profile.feeds)
        self.block = 5 + index % 5  # NHS numbers 999<block>…: never a seeded patient's, nor another feed's
        self.issued: set[str] = set()
        r = self.client.get("/api/wards", name="GET /api/wards (feed)", headers=self.auth)
        wards = [w["id"] for w in r.json()] if r.status_code == 200 else self.ctx.creds.wards()
        self.wards = wards[index % count :: count] or wards

    def snapshot(self, ward: str) -> dict[str, Any] | None:
        with self.client.get(
            f"/api/wards/{ward}", name="GET /api/wards/[ward] (feed)", headers=self.auth, catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"ward read answered {r.status_code}")
                return None
            result: dict[str, Any] = r.json()
            return result

    def pick(self, status: str) -> tuple[str, dict[str, Any]] | None:
        """A bed in this status on one of this feed's wards (occupied: one whose patient has an NHS number)."""
        ward = self.rng.choice(self.wards)
        snap = self.snapshot(ward)
        beds = [
            b
            for b in (snap or {}).get("beds", ())
            if b["status"] == status and (status != "occupied" or (b.get("patient") or {}).get("nhs_number"))
        ]
        return (ward, self.rng.choice(beds)) if beds else None

    def new_patient(self) -> dict[str, Any]:
        while True:
            record = patient(self.rng, dt.datetime.now(dt.UTC), self.block)
            if record["nhs_number"] not in self.issued:
                self.issued.add(str(record["nhs_number"]))
                return record

    def act(
        self, event: str, source: tuple[str, dict[str, Any]] | None, target: tuple[str, dict[str, Any]] | None
    ) -> None:
        raise NotImplementedError

    @task
    def feed(self) -> None:
        """A ward's day as the PAS sees it: mostly admissions and discharges, some updates and transfers."""
        self.pause(P.FEED_ACTION_EVERY_S)
        roll = self.rng.random()
        if roll < 0.45:
            target = self.pick("empty")
            if target:
                self.act("A01", None, target)
        elif roll < 0.8:
            source = self.pick("occupied")
            if source:
                self.act("A03", source, None)
        elif roll < 0.9:
            source = self.pick("occupied")
            if source:
                self.act("A08", source, None)
        else:
            source, target = self.pick("occupied"), self.pick("empty")
            if source and target:
                self.act("A02", source, target)


class ApiFeedBase(FeedBase):
    abstract = True

    def patch(self, ward: str, bed: dict[str, Any], body: dict[str, Any], what: str) -> bool:
        headers = dict(self.auth, **{"If-Match": f'"bed-{bed["version"]}"'})
        with self.client.request(
            "PATCH",
            f"/api/wards/{ward}/beds/{bed['id']}",
            json=body,
            headers=headers,
            name=f"PATCH bed (feed {what})",
            catch_response=True,
        ) as r:
            if r.status_code == 200:
                self.ctx.recorder.wrote(ward, r.json()["offset"])
                return True
            if r.status_code == 412:
                r.success()
                r.request_meta["name"] = f"PATCH bed (feed {what}, 412 conflict)"
                self.ctx.recorder.conflicts += 1
                return False
            r.failure(f"PATCH answered {r.status_code}: {r.text[:200]}")
            return False

    def act(
        self, event: str, source: tuple[str, dict[str, Any]] | None, target: tuple[str, dict[str, Any]] | None
    ) -> None:
        admit = {"status": "occupied", "admit": True}
        if event == "A01" and target:
            self.patch(*target, {**admit, "patient": self.new_patient()}, "admit")
        elif event == "A03" and source:
            self.patch(*source, {"status": "cleaning", "patient": None}, "discharge")
        elif event == "A08" and source:
            self.patch(*source, {"patient": {"consultant": self.rng.choice(CONSULTANTS)}}, "update")
        elif event == "A02" and source and target:
            moved = {
                k: source[1]["patient"][k]
                for k in ("name", "nhs_number", "date_of_birth", "sex", "consultant")
                if source[1]["patient"].get(k)
            }
            if self.patch(*source, {"status": "cleaning", "patient": None}, "transfer out"):
                self.patch(*target, {**admit, "patient": moved}, "transfer in")


class MllpFeedBase(FeedBase):
    abstract = True

    def on_start(self) -> None:
        super().on_start()
        host, port = endpoint(self.ctx.mllp)
        self.mllp = MllpConnection(host, port, MLLP_TIMEOUT_S)
        # MSH-10 unique across runs: a deployment answers a resend (same sender and MSH-10) without applying it.
        self.control_prefix = "LT" + secrets.token_hex(4).upper()
        self.sent = 0

    def on_stop(self) -> None:
        self.mllp.close()

    def control_id(self) -> str:
        self.sent += 1
        return f"{self.control_prefix}{self.sent:06d}"

    def act(
        self, event: str, source: tuple[str, dict[str, Any]] | None, target: tuple[str, dict[str, Any]] | None
    ) -> None:
        cid = self.control_id()
        new = self.new_patient() if event == "A01" else None
        doctor = adt_messages.consultant(self.rng.choice(CONSULTANTS))
        message = adt_messages.message(event, cid, source, target, new=new, doctor=doctor)
        if message is not None:
            self.send(f"ADT^{event}", cid, message)

    def send(self, name: str, cid: str, message: str) -> None:
        self.check_stop()
        if not self.mllp.connected:
            started = time.perf_counter()
            try:
                self.mllp.connect()
            except OSError as exc:
                self.fire("MLLP", "connect", started, exc)
                return
            self.fire("MLLP", "connect", started)
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            ack = self.mllp.send(message)
        except (AckTimeout, OSError, ValueError) as error:
            failure = error
        else:
            if ack.control_id != cid:
                failure = RuntimeError(f"the ACK answers MSH-10 {ack.control_id!r}, not {cid!r}")
            elif not ack.accepted:
                failure = RuntimeError(f"{ack.code}: {ack.text or '(no reason given)'}")
        self.fire("MLLP", name, started, failure, length=len(message))
