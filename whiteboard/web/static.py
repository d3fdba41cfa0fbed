"""Static files under versioned URLs: `/static/js/board.js?v=HASH` is cached for a year as immutable, because a
new file is a new URL; anything else (an old or missing version) is revalidated on every use.

The hashes are computed once, when the app is built, from the files as deployed; the templates' `static()`
and the file server share them, so a kiosk that reloads after a deploy never mixes old and new files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs

import jinja2
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"


class StaticVersions:
    """The content hash of every file under `root`, keyed by its path relative to it (`js/board.js`)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.hashes: dict[str, str] = {
            f.relative_to(self.root).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()[:12]
            for f in sorted(self.root.rglob("*"))
            if f.is_file()
        }

    def __call__(self, path: str) -> str:
        """The versioned URL of one file, for templates; a template naming a missing file fails to render."""
        version = self.hashes.get(path)
        if version is None:
            raise jinja2.TemplateError(f"no static file {path!r}")
        return f"/static/{path}?v={version}"


class VersionedStaticFiles(StaticFiles):
    def __init__(self, versions: StaticVersions) -> None:
        super().__init__(directory=versions.root)
        self.versions = versions

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [])
            current = self.versions.hashes.get(path)
            fresh = current is not None and asked == [current]
            response.headers["Cache-Control"] = IMMUTABLE if fresh else REVALIDATE
        return response
