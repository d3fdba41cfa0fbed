"""A user that loses the kill once (as a library's bare `except:` can), then pauses like every load-test client.

`Client.pause` asks `check_stop()`, so the user still ends when the run does and Locust exits by itself.
"""

from __future__ import annotations

import time

import gevent  # type: ignore[import-untyped]
from locust import task

from loadtest.client import Client
from loadtest.locustfile import ProfileShape  # noqa: F401  (the run's recorder and watchdog, and its shape)


class SwallowingUser(Client):
    @task
    def hold(self) -> None:
        self.fire("TEST", "tick", time.perf_counter())
        try:
            gevent.sleep(0.5)
        except BaseException:  # the GreenletExit that stops the user is lost here
            self.fire("TEST", "swallowed kill", time.perf_counter())
        self.pause(3.0)  # a few milliseconds at the ci profile's time scale
