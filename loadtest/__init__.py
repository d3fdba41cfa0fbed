"""Load tests for Ward Whiteboard: Locust clients, profiles, the `scripts/loadtest` runner and the fan-out bench.

A black box: it speaks HTTP, WebSocket and MLLP to a server started as a subprocess (or to `--host`). Of
`whiteboard` it imports only `loadtest.seed`'s store calls (seeding, in the server's own interpreter) and two
pure modules for the HL7 feed users: `whiteboard.feeds.mllp` (the sans-I/O framer) and
`whiteboard.feeds.compose` (ADT message text); no server state, no I/O.
"""
