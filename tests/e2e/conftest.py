from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess


@pytest.fixture
def servers(request: pytest.FixtureRequest) -> Iterator[list[ServerProcess]]:
    """Servers a test starts are stopped afterwards; their logs are printed when the test failed."""
    started: list[ServerProcess] = []
    yield started
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for s in started:
        s.stop()
        if failed:
            print(f"\n--- server on port {s.port} (log {s.log_path}) ---\n{s.output()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(params=["embedded", "redis+postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str | None]:
    """The end-to-end suite runs on the embedded default and on the production parts."""
    if request.param == "embedded":
        return {"database_url": f"sqlite:///{tmp_path / 'wb.db'}", "redis_url": None, "redis_prefix": "wb"}
    dbs = request.getfixturevalue("pg_databases")
    return {
        "database_url": dbs.new(),
        "redis_url": request.getfixturevalue("redis_url"),
        "redis_prefix": request.getfixturevalue("redis_prefix"),
    }


@pytest.fixture
def make_server(servers: list[ServerProcess], backend: dict[str, str | None], tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(**kw: object) -> ServerProcess:
        s = ServerProcess(
            database_url=str(backend["database_url"]), redis_url=backend["redis_url"],
            redis_prefix=str(backend["redis_prefix"]), workdir=tmp_path, **kw,  # type: ignore[arg-type]
        )
        servers.append(s)
        return s

    return make
