"""The checker: what clients were told and what they saw, judged against the database and the log.

It records every write's outcome (a 2xx with the committed offset and the bed's version, a refusal, or no
answer) and, per WebSocket client, every connection with every frame (snapshots, events with offsets and
epochs, `resumed`, recovered flags) and its close code. `verify` then asserts the delivery guarantee
(docs/ARCHITECTURE.md) against the rows read directly from the database and the entries read directly from
Redis (`truth.py`):

1. every acknowledged write is in the database once (one audit record at its offset, with its value, and
   the bed's version is that offset); a refused write (4xx/503) wrote nothing, and every refusal has the
   contract's error body (never a 500);
2. every committed change reaches the event log once: the log is one epoch, contiguous, ends at the
   database's position, holds each acknowledged change as acknowledged, and nothing committed is left
   only in the outbox;
3. every client saw every event after its position exactly once, in order, or was told
   `recovered: false` with a fresh snapshot (never a gap, a duplicate or a step back);
4. every client's board equals the database (`converged`, polled for 5 s after the faults stop).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.faults.truth import LogEntry, WardTruth

CONVERGE_SECS = 5.0


@dataclass(slots=True)
class Frame:
    kind: str  # snapshot | event | resumed | heartbeat
    seq: int | None = None
    epoch: str | None = None
    recovered: bool | None = None
    beds: dict[str, tuple[str, str | None]] | None = None  # snapshot: bed → (status, notes; None for displays)
    bed: str | None = None  # event: the bed it changed and its new values
    changes: dict[str, Any] | None = None


@dataclass(slots=True)
class Connection:
    since: int | None
    epoch: str | None
    frames: list[Frame] = field(default_factory=list)
    close_code: int | None = None
    error: str | None = None


@dataclass
class ClientLog:
    """Everything one client saw, connection after connection; `board`/`seq` are its current picture."""

    name: str
    ward: str
    role: str
    connections: list[Connection] = field(default_factory=list)
    board: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    seq: int | None = None
    epoch: str | None = None
    keep_board: bool = True  # lean clients keep only their position

    def open(self) -> Connection:
        conn = Connection(self.seq, self.epoch)
        self.connections.append(conn)
        return conn

    def see(self, conn: Connection, frame: Frame) -> None:
        conn.frames.append(frame)
        if frame.kind == "snapshot":
            self.seq, self.epoch = frame.seq, frame.epoch
            if self.keep_board and frame.beds is not None:
                self.board = dict(frame.beds)
        elif frame.kind == "event" and frame.seq is not None:
            self.seq = frame.seq
            if self.keep_board and frame.bed is not None and frame.changes is not None:
                status, notes = self.board.get(frame.bed, ("", None))
                status = frame.changes.get("status", status)
                if self.role != "display":
                    notes = frame.changes.get("notes", notes)
                self.board[frame.bed] = (status, notes)


@dataclass(slots=True)
class WriteOutcome:
    ward: str
    bed: str
    note: str
    status: str
    kind: str  # ok | refused | error (no answer: connection lost) | timeout (no answer in time: a hang)
    http_status: int | None = None
    seq: int | None = None
    version: int | None = None
    body: Any = None


@dataclass
class Checker:
    writes: list[WriteOutcome] = field(default_factory=list)
    clients: list[ClientLog] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the scenario observed, for the report

    def client(self, name: str, ward: str, role: str, *, keep_board: bool = True) -> ClientLog:
        c = ClientLog(name, ward, role, keep_board=keep_board)
        self.clients.append(c)
        return c

    @property
    def acked(self) -> list[WriteOutcome]:
        return [w for w in self.writes if w.kind == "ok"]

    def count(self, kind: str, http_status: int | None = None) -> int:
        return sum(1 for w in self.writes if w.kind == kind and (http_status is None or w.http_status == http_status))

    # --- 4: convergence ---

    def lagging(self, truths: Mapping[str, WardTruth]) -> list[str]:
        """Clients whose board differs from the database (empty when all have converged)."""
        out = []
        for c in self.clients:
            t = truths[c.ward]
            if c.seq != t.seq:
                out.append(f"{c.name}: at {c.seq}, database at {t.seq}")
                continue
            if not c.keep_board:
                continue
            want = {b.id: (b.status, None if c.role == "display" else b.notes) for b in t.beds.values()}
            if c.board != want:
                diff = {k: (c.board.get(k), v) for k, v in want.items() if c.board.get(k) != v}
                out.append(f"{c.name}: board differs from the database at {t.seq}: {diff}")
        return out

    # --- 1-3 ---

    def verify(
        self,
        truths: Mapping[str, WardTruth],
        logs: Mapping[str, tuple[str | None, list[LogEntry]]] | None,
        *,
        log_kept: bool = True,
    ) -> list[str]:
        """Every violation of invariants 1-3 (4 is `lagging`). `log_kept`: no fault lost the log's history."""
        v: list[str] = []
        v += self._writes(truths)
        if logs is not None:
            for ward, (epoch, entries) in logs.items():
                v += self._log(truths[ward], epoch, entries, log_kept)
        acked = {(w.ward, w.seq): w for w in self.acked}
        for c in self.clients:
            v += self._client(c, acked)
        return v

    def _writes(self, truths: Mapping[str, WardTruth]) -> list[str]:
        v = []
        notes_in_db: dict[str, list[tuple[str, int]]] = {}
        for ward, t in truths.items():
            seqs = [a.seq for a in t.audit]
            if len(seqs) != len(set(seqs)):
                v.append(f"{ward}: two audit records share an offset")
            for a in t.audit:
                note = (a.after or {}).get("notes")
                if isinstance(note, str):
                    notes_in_db.setdefault(note, []).append((ward, a.seq))
        for w in self.writes:
            found = notes_in_db.get(w.note, [])
            if w.kind == "ok":
                if found != [(w.ward, w.seq)]:
                    v.append(f"acknowledged write {w.note} at {w.seq}: in the database as {found}")
                if w.version != w.seq:
                    v.append(f"acknowledged write {w.note}: bed version {w.version} is not its offset {w.seq}")
            elif w.kind == "refused":
                if found:
                    v.append(f"refused write {w.note} ({w.http_status}) was written: {found}")
                err = w.body.get("error") if isinstance(w.body, dict) else None
                if w.http_status == 500 or not (isinstance(err, dict) and {"code", "message"} <= err.keys()):
                    v.append(f"refusal {w.http_status} without the contract's error body: {w.body!r}")
            else:
                if len(found) > 1:
                    v.append(f"unanswered write {w.note} was written {len(found)} times")
                if w.kind == "timeout":
                    v.append(f"write {w.note} got no answer in time (the server hung)")
        return v

    def _log(self, t: WardTruth, epoch: str | None, entries: list[LogEntry], log_kept: bool) -> list[str]:
        v: list[str] = []
        name = t.ward_id
        if t.seq == 0:
            return v
        if not entries:
            return [f"{name}: the log is empty, the database is at {t.seq}"]
        if {e.epoch for e in entries} != {epoch}:
            v.append(f"{name}: log entries in epochs {sorted({e.epoch for e in entries})}, meta says {epoch}")
        seqs = [e.seq for e in entries]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            v.append(f"{name}: the log has a hole or a repeat: {seqs}")
        if seqs[-1] != t.seq:
            v.append(f"{name}: the log ends at {seqs[-1]}, the database at {t.seq}")
        if log_kept and seqs[0] != 1:
            v.append(f"{name}: the log starts at {seqs[0]} though nothing lost it")
        by_seq = {e.seq: e for e in entries}
        for w in self.acked:
            e = by_seq.get(w.seq) if w.ward == name and w.seq is not None else None
            if e is not None and e.event.get("changes", {}).get("notes") != w.note:
                v.append(f"{name}: log entry {w.seq} is not the acknowledged change {w.note}")
            if w.ward == name and log_kept and e is None:
                v.append(f"{name}: acknowledged change {w.seq} is not in the log")
        committed = {a.seq for a in t.audit}
        for s in committed:
            if s > seqs[-1]:
                v.append(f"{name}: committed change {s} never reached the log")
        stranded = [s for s in t.outbox if s > seqs[-1]]
        if stranded:
            v.append(f"{name}: outbox rows {stranded} are not in the log")
        return v

    def _client(self, c: ClientLog, acked: Mapping[tuple[str, int | None], WriteOutcome]) -> list[str]:
        v: list[str] = []
        seq: int | None = None
        epoch: str | None = None
        seen: set[int] = set()
        for i, conn in enumerate(c.connections):
            where = f"{c.name} connection {i}"
            resuming = conn.since is not None
            replaying = resuming
            for j, f in enumerate(conn.frames):
                if f.kind == "heartbeat":
                    continue
                if f.kind == "snapshot":
                    if (resuming or j > 0) and f.recovered is not False:
                        v.append(f"{where}: a snapshot after the first frame or on resume without recovered:false")
                    if seq is not None and f.seq is not None and f.seq < seq:
                        v.append(f"{where}: snapshot at {f.seq} went back from {seq}")
                    seq, epoch, replaying = f.seq, f.epoch, False
                elif f.kind == "event":
                    if seq is None:
                        v.append(f"{where}: an event before any snapshot")
                    elif f.seq != seq + 1:
                        what = "a repeat" if f.seq is not None and f.seq <= seq else "a gap"
                        v.append(f"{where}: event {f.seq} after {seq} ({what})")
                    if f.epoch != epoch:
                        v.append(f"{where}: event {f.seq} in epoch {f.epoch}, the client holds {epoch}")
                    if f.seq in seen:
                        v.append(f"{where}: event {f.seq} seen twice")
                    if f.seq is not None:
                        seen.add(f.seq)
                    ack = acked.get((c.ward, f.seq))
                    if ack is not None and f.changes is not None:
                        if f.changes.get("status", ack.status) != ack.status or (
                            c.role != "display" and f.changes.get("notes") != ack.note
                        ):
                            v.append(f"{where}: event {f.seq} is not the acknowledged change {ack.note}")
                    seq = f.seq
                elif f.kind == "resumed":
                    if not replaying or f.recovered is not True:
                        v.append(f"{where}: resumed without a resume, or not recovered:true")
                    if f.seq != seq or f.epoch != epoch:
                        v.append(f"{where}: resumed at {f.seq}/{f.epoch}, the client is at {seq}/{epoch}")
                    replaying = False
            if replaying and any(f.kind == "event" for f in conn.frames) and conn.close_code is None:
                pass  # cut off mid-replay: the next connection resumes from what it got
        return v
