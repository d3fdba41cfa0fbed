"""Load tests for Ward Whiteboard: Locust clients, profiles, the `scripts/loadtest` runner and the fan-out bench.

A black box: nothing here but `loadtest.seed` imports `whiteboard`; the rest speaks HTTP and WebSocket to a
server started as a subprocess (or to `--host`).
"""
