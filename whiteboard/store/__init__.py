"""The durable store: SQLite by default, PostgreSQL by URL. Knows nothing of Redis or HTTP.

Owns: the engine and its threads (`engine`), the write path's SQL (`writes`), the audit chain
(`audit`), wards, credentials and the outbox (`wards`, `credentials`, `outbox`), the ORM tables
(`models`), schema migrations (`migrate`, `migrations/`).
May import: `whiteboard.domain`, `whiteboard.types`, `whiteboard.errors`. Never web, live or access.

The names below are the store's public face; the layers above import them from here.
"""

from whiteboard.store.engine import (
    PRIVATE_FILE_MODE,
    Actor,
    CredentialRow,
    OutboxRow,
    Store,
    StoreUnavailable,
    WardInfo,
    WardState,
    WriteRequest,
    Written,
    create_private_sqlite_file,
    normalise_url,
    open_store,
    sqlite_path,
)

__all__ = [
    "PRIVATE_FILE_MODE",
    "Actor",
    "CredentialRow",
    "OutboxRow",
    "Store",
    "StoreUnavailable",
    "WardInfo",
    "WardState",
    "WriteRequest",
    "Written",
    "create_private_sqlite_file",
    "normalise_url",
    "open_store",
    "sqlite_path",
]
