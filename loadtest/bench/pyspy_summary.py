"""Summarise a `py-spy record --format raw` file: where the server's samples go, self and inclusive.

    .venv/bin/python -m loadtest.bench.pyspy_summary loadtest/reports/py-spy-embedded-20subs.txt

Frames are shortened to `function (file)`; inclusive counts a frame once per sample however deep it recurs.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path


def short(frame: str) -> str:
    m = re.match(r"\s*(.*?) \((.*?)(?::\d+)?\)\s*$", frame)
    if not m:
        return frame.strip()
    func, path = m.groups()
    parts = Path(path).parts
    where = "/".join(parts[parts.index("site-packages") + 1 :]) if "site-packages" in parts else "/".join(parts[-2:])
    return f"{func} ({where})"


def summarise(path: Path, top: int = 20) -> str:
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [short(f) for f in stack.split(";") if f]
        total += n
        if frames:
            self_c[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    out = [f"{total} samples", "", "self (leaf) time:"]
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in self_c.most_common(top)]
    out += ["", "inclusive time:"]
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(top * 2)]
    return "\n".join(out)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20))
