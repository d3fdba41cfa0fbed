"""Seed a synthetic trust for a load test and write the credentials CSV the locustfile reads.

Run with the server's own interpreter (it imports `whiteboard`, unlike the load generator):

    .venv/bin/python -m loadtest.seed --database-url sqlite:///tmp/lt.db --profile ci --out tokens.csv

One process does what hundreds of `whiteboard ward add` / `token create` / `user add` calls would (each
CLI process costs about a second to start): the same public functions the CLI calls — `migrate.upgrade`,
`Store.add_wards`, `Store.seed_beds`, `Store.create_credential`, `Accounts.add_user` — in one event loop.
Every board gets its own `display` credential and every nurse their own account, as in a real trust, so
per-credential rate limits stay meaningful.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import random
import secrets
import sys
from pathlib import Path

from loadtest.patients import patient
from loadtest.profiles import PROFILES, Profile

FIELDS = ("kind", "ward", "token", "username", "password")
OCCUPANCY = 0.85  # a trust's beds are mostly full at the start of a day


def ward_ids(profile: Profile) -> list[str]:
    return [f"lt-{i + 1:03d}" for i in range(profile.wards)]


def full_record(rng: random.Random, now: dt.datetime) -> dict[str, object]:
    """A patient as the server stores one after an admit (the API's defaults plus the feed's fields)."""
    record: dict[str, object] = {
        "named_nurse": None,
        "admitted_at": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "edd": None,
        "medically_optimised": False,
        "discharge_pathway": None,
        "discharge_status": "not_planned",
        "red_green": rng.choice(("red", "green")),
        "news2": None,
        "flags": [],
        "tasks": [],
    }
    record.update(patient(rng, now))
    return record


async def seed(database_url: str, profile: Profile, out: Path, seed_value: int) -> dict[str, int]:
    from whiteboard.access.accounts import Accounts
    from whiteboard.cli.ward import bed_layout
    from whiteboard.settings import Settings
    from whiteboard.store import Actor, migrate, open_store

    rng = random.Random(seed_value)
    await migrate.upgrade(database_url)
    store = open_store(database_url)
    await store.connect()
    rows: list[dict[str, str]] = []
    try:
        wards = ward_ids(profile)
        layout = bed_layout(profile.beds_per_ward, 6)
        now = dt.datetime.now(dt.UTC)
        actor = Actor(name="Load-test seeder", role="admin", source="cli")
        await store.add_wards([(w, f"Load ward {w[3:]}", layout) for w in wards], actor=actor)
        for w in wards:
            beds = [
                {"id": bed, "status": "occupied", "patient": full_record(rng, now)}
                if rng.random() < OCCUPANCY
                else {"id": bed, "status": rng.choice(("empty", "empty", "cleaning"))}
                for bed, _bay in layout
            ]
            await store.seed_beds(w, beds, actor)
        for i in range(profile.boards):
            w = wards[i % len(wards)]
            _, token = await store.create_credential("display", (w,), f"load-test board {i + 1} on {w}", actor=actor)
            rows.append({"kind": "board", "ward": w, "token": token})
        accounts = Accounts(store, idle_secs=Settings.session_idle_secs, max_age_secs=Settings.session_max_age_secs)
        for i in range(profile.nurses):
            w = wards[i % len(wards)]
            username, password = f"lt-nurse-{i + 1:04d}", secrets.token_urlsafe(12)
            await accounts.add_user(username, f"Load Nurse {i + 1}", password, "nurse", (w,), actor=actor)
            rows.append({"kind": "nurse", "ward": w, "username": username, "password": password})
        for i in range(profile.feeds):  # an integration engine: one token covering every ward
            _, token = await store.create_credential("nurse", None, f"load-test feed {i + 1}", actor=actor)
            rows.append({"kind": "feed", "token": token})
        for i in range(profile.ops):
            _, token = await store.create_credential("ops", None, f"load-test ops viewer {i + 1}", actor=actor)
            rows.append({"kind": "ops", "token": token})
    finally:
        await store.aclose()
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return {
        "wards": profile.wards,
        "beds": profile.beds,
        **{k: sum(r["kind"] == k for r in rows) for k in ("board", "nurse", "feed", "ops")},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--profile", required=True, choices=sorted(PROFILES))
    ap.add_argument("--out", required=True, type=Path, help="the credentials CSV to write")
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args(argv)
    counts = asyncio.run(seed(args.database_url, PROFILES[args.profile], args.out, args.seed))
    print("seeded " + ", ".join(f"{k}: {v}" for k, v in counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
