"""Locust clients that do what the real ones do, on the wire, and report through Locust's request events.

- `WallBoard`: signs in with its own display token (as a kiosk does at /login), loads /board/{ward},
  holds `/ws/wards/{ward}` for minutes with the session cookie and the page's Origin, reports every live
  event's latency (the event's `at` to arrival) as request `WS event (live)`, resumes with `since`/`epoch`
  after a drop (`WS resume`, timed to the `resumed` frame) and reloads its page now and then (`WS connect`).
- `NursePhone`: signs in with a password (POST /login form), opens /m, revalidates its ward with
  If-None-Match, and edits beds the way `mobile-cards.js` does: revalidate, then PATCH with
  `If-Match: "bed-<version>"` and `X-Whiteboard-Client: phone`; a 412 is an expected per-bed conflict
  (request name `... (412 conflict)`, not a failure), followed by a reload and one retry.
- `HospitalFeed`: an integration engine's bearer token: admits (`"admit": true` with the patient),
  discharges (`cleaning`, patient null) and transfers (discharge here, admit there), with If-Match.
- `OpsViewer`: /api/ops and /metrics every poll, the /ops page now and then.

Pace: each client's real-life interval (`loadtest.profiles`) divided by the profile's time scale and the
shape's current activity. WebSockets use websocket-client, which is synchronous and so cooperates with
Locust's gevent (no asyncio).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from typing import Any

import gevent
import websocket
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from loadtest import profiles as P
from loadtest.patients import patient
from loadtest.record import parse_offset

PHONE = {"X-Whiteboard-Client": "phone", "Accept": "application/json"}
SIGN_IN = "POST /login"  # the runner leaves sign-in out of the p99 bar: argon2 is slow on purpose


def same_origin_form(host: str | None) -> dict[str, str]:
    """What a browser sends with our own sign-in form: the server refuses a missing or opaque Origin (login CSRF)."""
    return {"Origin": str(host or "").rstrip("/"), "Sec-Fetch-Site": "same-origin"}


def _at_ms(at: str) -> float:
    """Milliseconds from an ISO timestamp (the server's clock: the same machine) to now."""
    return (time.time() - dt.datetime.fromisoformat(at).timestamp()) * 1000.0


class Client(FastHttpUser):
    """What every simulated client shares: the run's context and the paced wait."""

    abstract = True
    wait_time = constant(0)

    @property
    def ctx(self) -> Any:
        return self.environment.wb  # type: ignore[attr-defined]

    def pause(self, real_seconds: float) -> None:
        """Sleep an exponentially distributed interval around the real-life one, scaled to the profile."""
        mean = real_seconds / self.ctx.profile.time_scale / max(0.05, self.ctx.activity())
        gevent.sleep(random.expovariate(1.0 / mean))

    def fire(
        self,
        kind: str,
        name: str,
        started: float,
        exc: BaseException | None = None,
        length: int = 0,
        ms: float | None = None,
    ) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=name,
            response_time=(time.perf_counter() - started) * 1000 if ms is None else ms,
            response_length=length,
            exception=exc,
            context={},
        )


class WallBoardBase(Client):
    abstract = True

    def on_start(self) -> None:
        self.cred = self.ctx.creds.take("board")
        self.ward = self.cred["ward"]
        self.ws: websocket.WebSocket | None = None
        self.epoch: str | None = None
        self.offset: str | None = None
        self.segment: Any = None
        self.storms = self.ctx.storm_generation()
        self.load_page()

    def on_stop(self) -> None:
        self.close()

    def load_page(self) -> None:
        """Sign in as a kiosk with the display token (cookie session), then load the board page."""
        self.cookie = ""
        with self.client.post(
            "/login",
            data={"token": self.cred["token"]},
            headers=same_origin_form(self.host),
            name=f"{SIGN_IN} (board token)",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 303:
                r.failure(f"board sign-in answered {r.status_code}")
                return
            self.cookie = str(r.headers.get("set-cookie") or "").split(";")[0]
        self.client.get(f"/board/{self.ward}", name="GET /board/[ward]", headers={"Cookie": self.cookie})
        self.offset = self.epoch = None  # a reloaded page starts from a snapshot

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # already gone is fine
                pass
            self.ws = None

    def connect(self) -> bool:
        base = self.host.replace("http://", "ws://").replace("https://", "wss://")
        resume = self.offset is not None
        url = f"{base}/ws/wards/{self.ward}" + (f"?since={self.offset}&epoch={self.epoch}" if resume else "")
        name = "resume" if resume else "connect"
        started = time.perf_counter()
        try:
            self.ws = websocket.create_connection(url, header=[f"Cookie: {self.cookie}"], origin=self.host, timeout=15)
            while True:
                msg = json.loads(self.ws.recv())
                if msg["type"] == "snapshot":
                    self.epoch, self.offset = msg["epoch"], msg["offset"]
                    self.segment = self.ctx.recorder.new_segment(self.ward, msg["offset"])
                    if resume:
                        name = "resume (snapshot)"
                    break
                if msg["type"] == "resumed":
                    break
                if msg["type"] == "event":
                    self.on_event(msg, live=False)
        except Exception as exc:  # every failure to connect is reported, then retried
            self.fire("WS", name, started, exc)
            self.close()
            gevent.sleep(random.uniform(0.25, 0.5))
            return False
        self.fire("WS", name, started)
        self.ws.settimeout(0.5)
        return True

    def on_event(self, msg: dict[str, Any], *, live: bool) -> None:
        seg = self.segment
        off = parse_offset(msg["offset"])
        seg.seen[off] = seg.seen.get(off, 0) + 1
        if off > seg.last:
            seg.last = off
        self.offset, self.epoch = msg["offset"], msg["epoch"]
        if live:
            self.fire("WS", "event (live)", 0.0, ms=max(0.0, _at_ms(msg["event"]["at"])))
        else:
            self.fire("WS", "event (replayed)", 0.0, ms=0.0)

    @task
    def watch(self) -> None:
        """One connection's life: until a drop, a storm, or the daily page reload."""
        if not self.cookie:
            self.pause(60)
            self.load_page()
            return
        if not self.connect():
            return
        t = self.ctx.profile.time_scale
        now = time.monotonic()
        reload_at = now + random.expovariate(t / P.BOARD_RELOAD_EVERY_S)
        drop_at = now + random.expovariate(t / P.BOARD_DROP_EVERY_S)
        assert self.ws is not None
        while True:
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                raw = None
            except Exception as exc:  # the server dropped us: report it, then resume
                self.ctx.recorder.drops_unplanned += 1
                self.fire("WS", "dropped by server", time.perf_counter(), exc)
                self.close()
                # As the page does (live.js): a jittered pause before resuming, so a restart's 1012s do not
                # bring every board back in the same instant.
                gevent.sleep(random.uniform(0.25, 0.5))
                return
            if raw:
                msg = json.loads(raw)
                if msg["type"] == "event":
                    self.on_event(msg, live=True)
                elif msg["type"] == "snapshot":  # the server could not carry on past a gap: a new view
                    self.epoch, self.offset = msg["epoch"], msg["offset"]
                    self.segment = self.ctx.recorder.new_segment(self.ward, msg["offset"])
            storms = self.ctx.storm_generation()
            now = time.monotonic()
            if storms != self.storms:  # every board drops at once; they come back with jitter like live.js
                self.storms = storms
                self.close()
                gevent.sleep(random.uniform(0.25, 0.5))
                return
            if now >= drop_at:  # the Wi-Fi went: resume with since/epoch
                self.close()
                gevent.sleep(random.uniform(0.25, 0.5))
                return
            if now >= reload_at:
                self.close()
                self.load_page()
                return


class NursePhoneBase(Client):
    abstract = True

    def on_start(self) -> None:
        self.cred = self.ctx.creds.take("nurse")
        self.ward = self.cred["ward"]
        self.etag: str | None = None
        self.beds: dict[str, dict[str, Any]] = {}
        self.rng = random.Random()
        self.sign_in()

    def sign_in(self) -> None:
        self.client.cookiejar.clear()
        if self.cred.get("token"):
            form = {"token": self.cred["token"], "next": "/m"}
        else:
            form = {"username": self.cred["username"], "password": self.cred["password"], "next": "/m"}
        with self.client.post(
            "/login",
            data=form,
            headers=same_origin_form(self.host),
            name=f"{SIGN_IN} (nurse)",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 303:
                r.failure(f"nurse sign-in answered {r.status_code}")
        self.client.get("/m", name="GET /m")

    def read(self) -> bool:
        """The phone's revalidation: If-None-Match with the last ETag; 304 keeps what it has."""
        headers = dict(PHONE, **({"If-None-Match": self.etag} if self.etag else {}))
        with self.client.get(
            f"/api/wards/{self.ward}", name="GET /api/wards/[ward] (phone)", headers=headers, catch_response=True
        ) as r:
            if r.status_code == 304:
                r.success()
                return True
            if r.status_code == 401:
                r.success()
                self.sign_in()
                return False
            if r.status_code != 200:
                r.failure(f"ward read answered {r.status_code}")
                return False
            body = r.json()
            self.etag = r.headers.get("etag")
            self.beds = {b["id"]: b for b in body["beds"]}
            return True

    def change_for(self, bed: dict[str, Any]) -> dict[str, Any] | None:
        if bed["status"] == "cleaning":
            return {"status": "empty"}
        if bed["status"] != "occupied" or not bed.get("patient"):
            return None
        return self.rng.choice(
            (
                {"notes": f"obs due {self.rng.randrange(10, 23)}:00"},
                {"patient": {"red_green": self.rng.choice(("red", "green"))}},
                {"patient": {"discharge_status": self.rng.choice(("not_planned", "planned", "awaiting_tto", "ready"))}},
            )
        )

    def write(self) -> None:
        if not self.read() or not self.beds:
            return
        for attempt in range(2):
            choices = [b for b in self.beds.values() if self.change_for(b) is not None]
            if not choices:
                return
            bed = self.rng.choice(choices)
            body = self.change_for(bed)
            headers = dict(PHONE, **{"If-Match": f'"bed-{bed["version"]}"'})
            with self.client.request(
                "PATCH",
                f"/api/wards/{self.ward}/beds/{bed['id']}",
                json=body,
                headers=headers,
                name="PATCH bed (phone)",
                catch_response=True,
            ) as r:
                if r.status_code == 200:
                    answer = r.json()
                    self.ctx.recorder.wrote(self.ward, answer["offset"])
                    bed["version"] = answer.get("version", bed["version"])
                    return
                if r.status_code == 412:  # someone else changed this bed first: expected, reload and retry
                    r.success()
                    r.request_meta["name"] = "PATCH bed (phone, 412 conflict)"
                    self.ctx.recorder.conflicts += 1
                    self.etag = None
                    if attempt == 0 and not self.read():
                        return
                    continue
                if r.status_code == 401:
                    r.success()
                    self.sign_in()
                    return
                r.failure(f"PATCH answered {r.status_code}: {r.text[:200]}")
                return

    @task
    def shift(self) -> None:
        """Reads and writes race on their own clocks, like a phone in a nurse's pocket."""
        read_every, write_every = P.NURSE_READ_EVERY_S, P.NURSE_WRITE_EVERY_S
        self.pause(read_every * write_every / (read_every + write_every))  # the next of either action
        if self.rng.random() < read_every / (read_every + write_every):  # P(write) = (1/W) / (1/R + 1/W)
            self.write()
        else:
            self.read()


class HospitalFeedBase(Client):
    abstract = True

    def on_start(self) -> None:
        self.cred = self.ctx.creds.take("feed")
        self.auth = {"Authorization": f"Bearer {self.cred['token']}", "Accept": "application/json"}
        self.rng = random.Random()
        r = self.client.get("/api/wards", name="GET /api/wards (feed)", headers=self.auth)
        self.wards = [w["id"] for w in r.json()] if r.status_code == 200 else self.ctx.creds.wards()

    def snapshot(self, ward: str) -> dict[str, Any] | None:
        with self.client.get(
            f"/api/wards/{ward}", name="GET /api/wards/[ward] (feed)", headers=self.auth, catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"ward read answered {r.status_code}")
                return None
            result: dict[str, Any] = r.json()
            return result

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

    def pick(self, status: str) -> tuple[str, dict[str, Any]] | None:
        ward = self.rng.choice(self.wards)
        snap = self.snapshot(ward)
        beds = [b for b in (snap or {}).get("beds", ()) if b["status"] == status]
        return (ward, self.rng.choice(beds)) if beds else None

    @task
    def feed(self) -> None:
        self.pause(P.FEED_ACTION_EVERY_S)
        roll = self.rng.random()
        now = dt.datetime.now(dt.UTC)
        if roll < 0.45:
            target = self.pick("empty")
            if target:
                body = {"status": "occupied", "admit": True, "patient": patient(self.rng, now)}
                self.patch(target[0], target[1], body, "admit")
        elif roll < 0.9:
            source = self.pick("occupied")
            if source:
                self.patch(source[0], source[1], {"status": "cleaning", "patient": None}, "discharge")
        else:
            source, target = self.pick("occupied"), self.pick("empty")
            if source and target and source[1].get("patient", {}).get("name"):
                moved = {
                    k: source[1]["patient"][k]
                    for k in ("name", "nhs_number", "date_of_birth", "sex", "consultant")
                    if source[1]["patient"].get(k)
                }
                if self.patch(source[0], source[1], {"status": "cleaning", "patient": None}, "transfer out"):
                    self.patch(
                        target[0], target[1], {"status": "occupied", "admit": True, "patient": moved}, "transfer in"
                    )


class OpsViewerBase(Client):
    abstract = True

    def on_start(self) -> None:
        self.cred = self.ctx.creds.take("ops")
        self.auth = {"Authorization": f"Bearer {self.cred['token']}"}
        self.polls = 0

    @task
    def watch(self) -> None:
        self.pause(P.OPS_POLL_EVERY_S)
        self.client.get("/api/ops", name="GET /api/ops", headers=self.auth)
        self.client.get("/metrics", name="GET /metrics", headers=self.auth)
        if self.polls % 20 == 0:
            self.client.get("/ops", name="GET /ops", headers=self.auth)
        self.polls += 1


def configured(profile: P.Profile) -> list[type[Client]]:
    """Concrete user classes for this profile: exact counts (fixed_count), or weights when stress ramps."""
    counts = (profile.boards, profile.nurses, profile.feeds, profile.ops)
    bases = (WallBoardBase, NursePhoneBase, HospitalFeedBase, OpsViewerBase)
    names = ("WallBoard", "NursePhone", "HospitalFeed", "OpsViewer")
    classes: list[type[Client]] = []
    for name, base, n in zip(names, bases, counts, strict=True):
        if n <= 0:
            continue
        attrs: dict[str, Any] = {"abstract": False, "__module__": __name__}
        if profile.stress_step_s:
            attrs["weight"] = n
        else:
            attrs["fixed_count"] = n
        classes.append(type(name, (base,), attrs))
    return classes
