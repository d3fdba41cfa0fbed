"""Database tables (SQLAlchemy 2 declarative). Schema changes go through Alembic (`migrations/`).

A bed row holds its patient as one JSON document: the board always shows a bed with its patient,
so a write is a single-row update and a snapshot a single scan, with no object graph per request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# none_as_null: a Python None is SQL NULL (no patient), not the JSON value null.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    pass


class Ward(Base):
    __tablename__ = "wards"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # A new uid per created ward names its event log, so a rebuilt database never meets stale entries.
    uid: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # The ward's event sequence: every accepted change takes the next number inside its transaction.
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # Which patient fields a `display` of this ward shows; NULL means the safe default.
    display_fields: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Head of the ward's audit chain (audit.py): updated with `seq` under the same row lock.
    audit_pos: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), nullable=False, default="0" * 64)


class Bed(Base):
    __tablename__ = "beds"

    ward_id: Mapped[str] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bay: Mapped[str] = mapped_column(String(64), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="empty")
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    patient: Mapped[Any] = mapped_column(JSONType, nullable=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The bed's version: the ward `seq` of its last change (0: never changed). A PATCH's If-Match is
    # judged against it, so an edit to another bed never makes this one's save stale.
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")


class Outbox(Base):
    """Committed changes not yet known to be in the event log; the relay appends and then deletes them."""

    __tablename__ = "outbox"

    ward_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log: Mapped[str] = mapped_column(String(128), nullable=False)
    payload: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AuditRecord(Base):
    """Append-only: one row per accepted change, written in the change's own transaction."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    credential_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    ward_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bed_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    before: Mapped[Any] = mapped_column(JSONType, nullable=True)
    after: Mapped[Any] = mapped_column(JSONType, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Tamper evidence (audit.py): the record's chain, its place in it, and the hashes linking them.
    chain: Mapped[str] = mapped_column(String(64), nullable=False)
    pos: Mapped[int] = mapped_column(BigInteger, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (
        Index("ix_audit_ward_at", "ward_id", "at"),
        Index("ux_audit_chain_pos", "chain", "pos", unique=True),
    )


class AuditChain(Base):
    """Heads of the audit chains that belong to no ward (`_system`); a ward's head is on its row."""

    __tablename__ = "audit_chains"

    chain: Mapped[str] = mapped_column(String(64), primary_key=True)
    pos: Mapped[int] = mapped_column(BigInteger, nullable=False)
    head: Mapped[str] = mapped_column(String(64), nullable=False)


class Credential(Base):
    """Bearer tokens, stored as SHA-256 of a 256-bit random secret (a high-entropy token needs no slow hash)."""

    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    wards: Mapped[Any] = mapped_column(JSONType, nullable=True)  # NULL: every ward
    label: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class User(Base):
    """A member of staff who signs in with a username and password (argon2 hash; never the password)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    wards: Mapped[Any] = mapped_column(JSONType, nullable=True)  # NULL: every ward
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random secret; only its SHA-256 is stored here."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    credential_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # NULL for kiosks: a wall board must not sign itself out at 3 a.m. (revocation still ends it).
    idle_secs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PairingCode(Base):
    """A short-lived, single-use code that enrols one wall display for one ward (kiosks.py)."""

    __tablename__ = "pairing_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    ward_id: Mapped[str] = mapped_column(String(64), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    credential_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class LoadTest(Base):
    """One load-test result this deployment was shown (`scripts/loadtest --host`): its proven capacity."""

    __tablename__ = "load_tests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    profile: Mapped[str] = mapped_column(String(40), nullable=False)
    monthly_multiple: Mapped[float] = mapped_column(Float, nullable=False)
    thresholds_passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    requests: Mapped[int] = mapped_column(BigInteger, nullable=False)
    failures: Mapped[int] = mapped_column(BigInteger, nullable=False)
    p99_ms: Mapped[float] = mapped_column(Float, nullable=False)
    report_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)


class FeedMessage(Base):
    """An HL7 v2 message a feed had applied, with the acknowledgements it got: a resend (same sending
    application and facility, same MSH-10) is answered with them again and applied no second time."""

    __tablename__ = "feed_messages"

    sender: Mapped[str] = mapped_column(String(400), primary_key=True)  # MSH-3 and MSH-4, as sent
    control_id: Mapped[str] = mapped_column(String(199), primary_key=True)  # MSH-10
    acks: Mapped[Any] = mapped_column(JSONType, nullable=False)  # the ACK messages' text, in the order sent
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class FeedCancel(Base):
    """A cancel (A11, A12, A13) that arrived before the event it cancels: that event, when it comes from the same
    sender with an earlier event time, is refused instead of applied (hazard H26)."""

    __tablename__ = "feed_cancels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sender: Mapped[str] = mapped_column(String(400), nullable=False)
    key: Mapped[str] = mapped_column(String(600), nullable=False)  # the cancelled event: kind, beds, patient
    event_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    control_id: Mapped[str] = mapped_column(String(199), nullable=False)  # the cancel's MSH-10
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_feed_cancels_sender_key", "sender", "key"),)


class Observation(Base):
    """One charted set of vital signs and its NEWS2 score, kept for the patient's history (FHIR Observation).

    Written in the transaction that puts the score on the bed. The patient is named as the record named
    them then: NHS number when known, else name with the admission time (which move with the record).
    """

    __tablename__ = "observations"
    __table_args__ = (
        Index("ix_observations_nhs_number", "nhs_number", "recorded_at"),
        Index("ix_observations_patient", "patient_name", "admitted_at"),
        Index("ix_observations_ward_bed", "ward_id", "bed_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ward_id: Mapped[str] = mapped_column(String(64), nullable=False)
    bed_id: Mapped[str] = mapped_column(String(32), nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    nhs_number: Mapped[str | None] = mapped_column(String(10), nullable=True)
    patient_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    admitted_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    respiration_rate: Mapped[int] = mapped_column(Integer, nullable=False)
    spo2: Mapped[int] = mapped_column(Integer, nullable=False)
    spo2_scale: Mapped[int] = mapped_column(Integer, nullable=False)
    on_oxygen: Mapped[bool] = mapped_column(Boolean, nullable=False)
    systolic_bp: Mapped[int] = mapped_column(Integer, nullable=False)
    pulse: Mapped[int] = mapped_column(Integer, nullable=False)
    consciousness: Mapped[str] = mapped_column(String(1), nullable=False)
    temperature: Mapped[float] = mapped_column(Float, nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    red_score: Mapped[bool] = mapped_column(Boolean, nullable=False)
    risk: Mapped[str] = mapped_column(String(16), nullable=False)
    monitoring: Mapped[str] = mapped_column(String(16), nullable=False)
    next_due: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


# The Core tables the store's prebuilt statements use: defined once here, beside the classes they come from.
WARDS = cast(Table, Ward.__table__)
BEDS = cast(Table, Bed.__table__)
OUTBOX = cast(Table, Outbox.__table__)
AUDIT = cast(Table, AuditRecord.__table__)
AUDIT_CHAINS = cast(Table, AuditChain.__table__)
CREDENTIALS = cast(Table, Credential.__table__)
USERS = cast(Table, User.__table__)
SESSIONS = cast(Table, WebSession.__table__)
PAIRING_CODES = cast(Table, PairingCode.__table__)
LOAD_TESTS = cast(Table, LoadTest.__table__)
FEED_MESSAGES = cast(Table, FeedMessage.__table__)
FEED_CANCELS = cast(Table, FeedCancel.__table__)
OBSERVATIONS = cast(Table, Observation.__table__)
