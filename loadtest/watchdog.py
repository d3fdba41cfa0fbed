"""When a run ends and a user does not stop, say which one and where it is stuck, and keep the records.

Locust waits for every user without a time limit once the shape ends the run. This watchdog, started
when the run starts stopping, looks again after a while: for every user still alive it writes its class
and the stack it is blocked in to `stuck.json` and the log, saves the run's records (so the runner can
still write a summary after it kills Locust), and kills the user once more (a lost `GreenletExit` is the
usual cause; see `loadtest.client`). It never blocks Locust's own stopping.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import User

DEFAULT_AFTER_S = 20.0
log = logging.getLogger("loadtest.watchdog")


def user_of(g: Any) -> User | None:
    """The User a greenlet runs (gevent drops a greenlet's args once it runs: read its frames instead)."""
    frame = g.gr_frame
    while frame is not None:
        for name in ("self", "user"):
            candidate = frame.f_locals.get(name)
            if isinstance(candidate, User):
                return candidate
        frame = frame.f_back
    return None


def stuck_users(environment: Any) -> list[dict[str, Any]]:
    runner = environment.runner
    out: list[dict[str, Any]] = []
    for g in list(getattr(runner, "user_greenlets", ()) or ()):
        if g.dead:
            continue
        user = user_of(g)
        stack = traceback.format_stack(g.gr_frame) if g.gr_frame is not None else []
        out.append({"user": type(user).__name__, "state": getattr(user, "_state", None), "stack": stack[-12:]})
    return out


def check(environment: Any) -> list[dict[str, Any]]:
    """One look: report, save and re-kill the users still alive; the list of them."""
    stuck = stuck_users(environment)
    if not stuck:
        return stuck
    recorder = environment.wb.recorder
    names = ", ".join(sorted({s["user"] for s in stuck}))
    log.error("%d user(s) did not stop when the run ended: %s (stacks in stuck.json)", len(stuck), names)
    for s in stuck:
        log.error("%s still running in:\n%s", s["user"], "".join(s["stack"]))
    recorder.out_dir.mkdir(parents=True, exist_ok=True)
    (recorder.out_dir / "stuck.json").write_text(json.dumps(stuck, indent=2))
    recorder.save()
    for g in list(environment.runner.user_greenlets):
        if not g.dead:
            g.kill(block=False)
    return stuck


def start(environment: Any, after_s: float) -> None:
    def watch() -> None:
        while True:
            gevent.sleep(after_s)
            if not check(environment):
                return

    gevent.spawn(watch)
