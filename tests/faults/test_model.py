"""A model-based fault test (hypothesis stateful): random histories of writes, client drops and resumes, and
faults (server kill -9, a crash between commit and append, Redis restarts with and without its data) against
real processes; after each history the checker judges the four invariants. A failure shrinks to a minimal
history of steps, printed by hypothesis.

Every example starts its own Redis, database and server, so the quick profile runs only a few short ones.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from tests.conftest import PostgresDatabases
from tests.faults.harness import Rig
from tests.faults.profiles import current_profile
from tests.faults.services import RedisServer
from whiteboard.live.ingest import CRASH_EXIT_CODE

PROFILE = current_profile()


class FaultHistory(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.log_kept = True
        self.closed = False
        self.ready = False  # set once the world is up: a failed start is cleaned up, not judged
        self.dir = Path(tempfile.mkdtemp(prefix="wbfaults-model-"))
        self.dbs = PostgresDatabases()
        self.redis = RedisServer(self.dir / "redis", persistent=True).start()
        self.rig = Rig(self.dir, self.dbs.new(), redis_url=self.redis.url, redis_truth_url=self.redis.url,
                       redis_prefix="wbfmodel")  # fmt: skip
        self.server = self.rig.server()
        self.rig.prepare(wards=("ward-m",), beds=4)
        self.server.start()
        self.rig.watch(per_ward=3)
        self.ready = True

    @rule(n=st.integers(1, 6))
    def write(self, n: int) -> None:
        self.rig.write(n)

    @rule(i=st.integers(0, 2), away=st.sampled_from([0.0, 0.3, 1.0]))
    def drop_client(self, i: int, away: float) -> None:
        self.rig.loop.call(self.rig.watchers[i].drop(away))

    @rule()
    def kill_server(self) -> None:
        self.server.kill()
        self.server.start()

    @rule()
    def crash_after_commit(self) -> None:
        self.server.stop()
        self.server.start({"WHITEBOARD_TEST_CRASH_AFTER_COMMIT": "1"})
        self.rig.write(1)  # committed, never answered
        assert self.server.wait_exit(20) == CRASH_EXIT_CODE
        self.server.start()

    @rule(lose_data=st.booleans(), down=st.sampled_from([0.0, 1.0]))
    def restart_redis(self, lose_data: bool, down: float) -> None:
        self.redis.kill()
        if lose_data:  # as a Redis without persistence would come back: empty, so a new epoch
            shutil.rmtree(self.redis.workdir, ignore_errors=True)
            self.log_kept = False
        time.sleep(down)
        self.redis.start()

    @precondition(lambda self: not self.closed)
    @rule()
    def pause(self) -> None:
        time.sleep(0.3)

    def teardown(self) -> None:
        if not hasattr(self, "dir"):
            return
        self.closed = True
        failed = True
        try:
            if self.ready:
                self.rig.wait_ready()
                self.rig.write(2)  # something after the last fault, that every client must get
                self.rig.verify(log_kept=self.log_kept, min_acked=0)
                failed = False
        finally:
            if hasattr(self, "rig"):
                self.rig.close(failed)
            if hasattr(self, "redis"):
                self.redis.kill()
            if hasattr(self, "dbs"):
                self.dbs.drop_all()
            shutil.rmtree(self.dir, ignore_errors=True)


TestFaultHistory = FaultHistory.TestCase
TestFaultHistory.settings = settings(
    max_examples=PROFILE.examples,
    stateful_step_count=PROFILE.steps,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
