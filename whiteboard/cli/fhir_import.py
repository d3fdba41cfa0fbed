"""`whiteboard import FILE|DIR ...`: FHIR transaction Bundles into a running server, each through POST /fhir.

Over HTTP, not into the database directly: each Bundle is judged by the same rules, credentials and ward
scopes as any FHIR client's, commits all-or-nothing through the one write path and reaches the boards live.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from whiteboard.cli.common import fail

TIMEOUT_SECS = 60.0


@dataclass
class Tally:
    bundles: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    refused: list[tuple[str, int, str]] = field(default_factory=list)  # (file, status, why)

    def add_response(self, body: dict[str, Any]) -> None:
        for entry in body.get("entry") or []:
            issues = ((entry.get("response") or {}).get("outcome") or {}).get("issue") or [{}]
            effect = issues[0].get("diagnostics")
            if effect == "created":
                self.created += 1
            elif effect == "changed":
                self.changed += 1
            else:
                self.unchanged += 1

    def summary(self) -> str:
        return (
            f"{self.bundles} bundle(s): {self.created} entries created, {self.changed} changed, "
            f"{self.unchanged} unchanged; {len(self.refused)} bundle(s) refused"
        )


def bundle_files(paths: tuple[Path, ...]) -> list[Path]:
    """The files named, and every *.json in the directories named, in name order."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return files


def _post(url: str, token: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url.rstrip("/") + "/fhir",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECS) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            return exc.code, {}


def _why(body: dict[str, Any]) -> str:
    issues = body.get("issue") or [{}]
    return str(issues[0].get("diagnostics") or "no OperationOutcome in the answer")


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--url", envvar="WHITEBOARD_IMPORT_URL", default="http://127.0.0.1:8000", show_default=True,
              help="The running server (WHITEBOARD_IMPORT_URL).")  # fmt: skip
@click.option("--token", envvar="WHITEBOARD_IMPORT_TOKEN", required=True,
              help="A bearer token, nurse or higher, for the wards changed (WHITEBOARD_IMPORT_TOKEN).")  # fmt: skip
def import_bundles(paths: tuple[Path, ...], url: str, token: str) -> None:
    """Load FHIR R4 transaction Bundles (files, or directories of *.json) into the board, each all-or-nothing.

    Prints a summary of the entries created, changed and unchanged and of the Bundles refused (with the
    server's reason); exit status 1 when any was refused, 2 when the server cannot be reached.
    """
    files = bundle_files(paths)
    if not files:
        fail("no *.json files found in " + ", ".join(str(p) for p in paths))
    tally = Tally()
    with click.progressbar(files, label="importing", file=sys.stderr, show_pos=True, item_show_func=_name) as bar:
        for path in bar:
            tally.bundles += 1
            try:
                status, body = _post(url, token, path.read_bytes())
            except (urllib.error.URLError, OSError) as exc:
                fail(f"cannot reach {url}: {exc}")
            if status == 200:
                tally.add_response(body)
            else:
                tally.refused.append((str(path), status, _why(body)))
    click.echo(tally.summary())
    for name, status, why in tally.refused:
        click.echo(f"refused {name} ({status}): {why}", err=True)
    if tally.refused:
        sys.exit(1)


def _name(path: Path | None) -> str:
    return path.name if path is not None else ""
