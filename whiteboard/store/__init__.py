"""The durable store: SQLite by default, PostgreSQL by URL. Knows nothing of Redis or HTTP.

Owns: the engine and its threads (`engine`), the write path's SQL (`writes`), the audit chain
(`audit`), wards, credentials and the outbox (`wards`, `credentials`, `outbox`), the ORM tables
(`models`), schema migrations (`migrate`, `migrations/`).
May import: `whiteboard.domain`, `whiteboard.types`, `whiteboard.errors`. Never web, live or access.

The names below are the store's public face; the layers above import them from here.
"""

from whiteboard.domain.board import WardState
from whiteboard.store.audit import append as audit_append
from whiteboard.store.credentials import TOKEN_PREFIX, hash_token, insert_credential, new_token
from whiteboard.store.engine import (
    PRIVATE_FILE_MODE,
    PoolLimits,
    Store,
    create_private_sqlite_file,
    normalise_url,
    open_store,
    sqlite_path,
)
from whiteboard.store.rows import (
    Actor,
    CredentialRow,
    FeedReceipt,
    OutboxRow,
    StoreUnavailable,
    WardInfo,
    WriteRequest,
    Written,
)

__all__ = [
    "TOKEN_PREFIX",
    "audit_append",
    "hash_token",
    "insert_credential",
    "new_token",
    "PRIVATE_FILE_MODE",
    "Actor",
    "CredentialRow",
    "FeedReceipt",
    "OutboxRow",
    "PoolLimits",
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
