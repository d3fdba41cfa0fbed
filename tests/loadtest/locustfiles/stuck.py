"""A user that never stops: it swallows every `GreenletExit`, as websocket-client's `close()` did in a drop.

`scripts/loadtest ... --locustfile` this to see the runner's deadline: the watchdog names the user, and the
runner kills Locust by PID at run time + grace and still writes a summary (failed).
"""

from __future__ import annotations

import gevent  # type: ignore[import-untyped]
from locust import User, constant, task

from loadtest.locustfile import ProfileShape  # noqa: F401  (the run's recorder and watchdog, and its shape)


class StuckUser(User):
    wait_time = constant(0)

    @task
    def hold(self) -> None:
        while True:
            try:
                self.environment.events.request.fire(
                    request_type="TEST", name="stuck", response_time=1.0, response_length=0, exception=None, context={}
                )
                gevent.sleep(0.2)
            except BaseException:  # the point: the kill is lost, for ever
                pass
