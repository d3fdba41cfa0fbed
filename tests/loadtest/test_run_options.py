"""The runner's options: how the hospital feed writes (MLLP or API) with and without --host, and ports."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.run import parse, port_range


def test_the_feed_speaks_mllp_to_its_own_server_and_the_api_to_a_host_without_mllp(tmp_path: Path) -> None:
    tokens = str(tmp_path / "tokens.csv")
    assert parse(["ci"])[0].feed == "mllp"
    assert parse(["ci", "--feed", "api"])[0].feed == "api"
    assert parse(["ci", "--host", "https://wb.example", "--tokens", tokens])[0].feed == "api"
    args, _ = parse(["ci", "--host", "https://wb.example", "--tokens", tokens, "--mllp", "10.0.0.5:2575"])
    assert (args.feed, args.mllp) == ("mllp", "10.0.0.5:2575")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["ci", "--mllp", "127.0.0.1:2575"], "--mllp is for --host"),
        (["ci", "--host", "https://wb.example", "--tokens", "t.csv", "--feed", "mllp"], "needs --mllp HOST:PORT"),
        (["ci", "--host", "https://wb.example", "--tokens", "t.csv", "--mllp", "wb.example"], "HOST:PORT"),
    ],
)
def test_contradictory_feed_options_are_refused_with_what_to_do(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse(argv)
    assert stopped.value.code == 2 and says in capsys.readouterr().err


def test_a_port_range_is_read_or_refused() -> None:
    assert port_range("") is None
    assert port_range("31000-31009") == range(31000, 31010)
    with pytest.raises(SystemExit, match="LOW-HIGH"):
        port_range("80-90")
