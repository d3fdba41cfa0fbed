"""The ceiling: a bare `websockets` broadcast server sending the same frames as ours to the same clients.

`python -m loadtest.bench.bare --port P --wards W --beds B`. Subscribers connect to `/ws/wards/{ward}` and get
a snapshot of B blank beds, then one `event` frame per write, shaped like the whiteboard's (`type`, `epoch`,
`offset`, `event` with `kind`, `ward`, `bed`, `changes`, `at`, `by`). Writers connect to `/write` and send
`{"ward", "bed", "notes"}` frames; each is stamped with the ward's next offset and the time, encoded once and
handed to `websockets.broadcast` (which frames it per connection). No auth, no storage, no audit: the cost
of fan-out itself.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import signal
from collections import defaultdict

import orjson
from websockets.asyncio.server import ServerConnection, broadcast, serve


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def main(port: int, wards: int, beds: int) -> None:
    subscribers: dict[str, set[ServerConnection]] = defaultdict(set)
    seq: dict[str, int] = defaultdict(int)
    epoch = "bare"

    def snapshot(ward: str) -> str:
        blank = [
            {
                "id": f"B{i + 1:02d}",
                "bay": f"Bay {i // 6 + 1}",
                "status": "empty",
                "notes": "",
                "patient": None,
                "updated_at": None,
                "version": 0,
                "similar_name": False,
            }
            for i in range(beds)
        ]
        return orjson.dumps(
            {
                "type": "snapshot",
                "ward": {"id": ward, "name": ward},
                "epoch": epoch,
                "offset": f"{seq[ward]}-0",
                "beds": blank,
            }
        ).decode()

    async def handler(ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        if path == "/write":
            async for raw in ws:
                w = orjson.loads(raw)
                ward = w["ward"]
                seq[ward] += 1
                at = now_iso()
                frame = orjson.dumps(
                    {
                        "type": "event",
                        "epoch": epoch,
                        "offset": f"{seq[ward]}-0",
                        "event": {
                            "kind": "bed.updated",
                            "ward": ward,
                            "bed": w["bed"],
                            "changes": {"notes": w["notes"], "updated_at": at, "version": seq[ward]},
                            "at": at,
                            "by": "Bench writer",
                        },
                    }
                ).decode()
                broadcast(subscribers[ward], frame)
            return
        ward = path.removeprefix("/ws/wards/").split("?")[0]
        await ws.send(snapshot(ward))
        subscribers[ward].add(ws)
        try:
            await ws.wait_closed()
        finally:
            subscribers[ward].discard(ws)

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(handler, "127.0.0.1", port, max_size=2**16, ping_interval=None):
        print("ready", flush=True)
        await stop


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--wards", type=int, default=50)
    ap.add_argument("--beds", type=int, default=24)
    a = ap.parse_args()
    asyncio.run(main(a.port, a.wards, a.beds))
