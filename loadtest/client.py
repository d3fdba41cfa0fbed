"""What every simulated client shares: the run's context, the paced wait, request events, bounded calls.

A user must stop when the run ends, whatever it is doing. Locust stops a user by raising `GreenletExit`
in its greenlet and then waits, without a time limit, for the greenlet to end; a library that swallows
that exception (websocket-client's `close()` wraps its wait for the server's close frame in a bare
`except:`) leaves a user running for ever and Locust never exits. So: every network call has a timeout,
nothing here calls a library function that catches `BaseException`, and every loop and every pause asks
`check_stop()`, which ends the user (`StopUser`) once the runner is stopping, even if a kill was lost.
"""

from __future__ import annotations

import random
import time
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import constant
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser
from locust.runners import STATE_CLEANUP, STATE_STOPPED, STATE_STOPPING

STOPPING = (STATE_CLEANUP, STATE_STOPPING, STATE_STOPPED)
SIGN_IN = "POST /login"  # the runner leaves sign-in out of the p99 bar: argon2 is slow on purpose


def same_origin_form(host: str | None) -> dict[str, str]:
    """What a browser sends with our own sign-in form: the server refuses a missing or opaque Origin (login CSRF)."""
    return {"Origin": str(host or "").rstrip("/"), "Sec-Fetch-Site": "same-origin"}


class Client(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    # Locust's defaults are 60 s each; 30 s leaves room for a nurse's sign-in (argon2: 15 s on a loaded machine).
    network_timeout = 30.0
    connection_timeout = 10.0

    @property
    def ctx(self) -> Any:
        return self.environment.wb

    def check_stop(self) -> None:
        """End this user now if the run is ending (a lost `GreenletExit` must not keep it alive)."""
        runner = self.environment.runner
        if runner is not None and runner.state in STOPPING:
            raise StopUser()

    def pause(self, real_seconds: float) -> None:
        """Sleep an exponentially distributed interval around the real-life one, scaled to the profile."""
        self.check_stop()
        mean = real_seconds / self.ctx.profile.time_scale / max(0.05, self.ctx.activity())
        gevent.sleep(random.expovariate(1.0 / mean))
        self.check_stop()

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
