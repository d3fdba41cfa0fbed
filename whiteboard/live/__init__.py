"""The write path and the fan-out: the batching ingest (store, then outbox, then log) and the hub
that keeps one ward view per ward and feeds subscribers.

May import: `whiteboard.store`, `whiteboard.eventlog`, `whiteboard.domain`, `whiteboard.metrics`,
`whiteboard.settings`, `whiteboard.errors`, `whiteboard.types`. Never web or access.
"""
