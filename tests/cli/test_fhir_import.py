"""`whiteboard import` against a real `whiteboard serve` (embedded and PostgreSQL + Redis): the sample Bundles
load over HTTP, the boards update live, the summary counts what was created, changed and refused, and the
refused Bundle changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from tests.e2e.server import ServerProcess
from tests.e2e.wsclient import next_frame, open_ws
from tests.feeds.fhir.r4 import resources_of

SAMPLES = Path(__file__).resolve().parent.parent / "feeds" / "fhir" / "samples"
WARD = "ward-fhir"


async def test_import_a_directory_of_bundles(make_server: Callable[..., ServerProcess]) -> None:
    s = make_server()
    s.cli("ward", "add", WARD, "--beds", "4", "--name", "Ward FHIR")
    s.start()
    nurse, display = s.token("nurse", WARD), s.token("display", WARD)
    board = await open_ws(s.ws_url, WARD, display)
    assert (await next_frame(board))["type"] == "snapshot"

    done = await asyncio.to_thread(s.cli, "import", str(SAMPLES), "--url", s.url, "--token", nurse, check=False)
    assert done.returncode == 1, done.stderr  # one Bundle was refused
    assert "3 bundle(s): 4 entries created, 7 changed, 1 unchanged; 1 bundle(s) refused" in done.stdout, done.stdout
    assert "refused" in done.stderr and "03-refused.json (422)" in done.stderr and "B01" in done.stderr

    # The wall board saw every committed change live (a display sees states, never names).
    seen = [await next_frame(board) for _ in range(7)]
    # In each Bundle's order (the second discharges B02, frees B03, then records B01's NEWS2).
    assert [f["event"]["bed"] for f in seen] == ["B01", "B02", "B03", "B04", "B02", "B03", "B01"]
    assert not [f for f in seen if "Hopper" in str(f) or "Turing" in str(f) or "9434765870" in str(f)]

    with s.client(nurse) as c:
        beds = {b["id"]: b for b in c.get(f"/api/wards/{WARD}").json()["beds"]}
        assert beds["B01"]["patient"]["news2"]["score"] == 7 and beds["B02"]["patient"] is None
        assert (beds["B03"]["status"], beds["B04"]["status"]) == ("empty", "closed")  # B04: the refused Bundle's
        found = c.get("/fhir/Patient", params={"name": "grace"})
        assert found.headers["content-type"].startswith("application/fhir+json")
        [grace] = resources_of(found.json())
        [obs] = resources_of(c.get("/fhir/Observation", params={"patient": f"Patient/{grace['id']}"}).json())
        assert obs["valueInteger"] == 7
    await board.close()


def test_import_says_what_is_wrong_without_a_server(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from whiteboard.cli import main

    empty = tmp_path / "none"
    empty.mkdir()
    runner = CliRunner()
    assert "no *.json files" in runner.invoke(main, ["import", str(empty), "--token", "t"]).output
    bundle = SAMPLES / "01-admissions.json"
    gone = runner.invoke(main, ["import", str(bundle), "--token", "t", "--url", "http://127.0.0.1:9"])
    assert gone.exit_code == 2 and "cannot reach" in gone.output
