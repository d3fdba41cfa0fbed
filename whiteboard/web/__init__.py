"""The wire: HTTP plumbing (`http`), the JSON API (`api`), the WebSocket endpoint (`ws`), health and
ops, security headers, access logs, the OpenAPI document, versioned static files, the protocol
table, the route table, and the HTML pages (`pages/`).

May import every layer below it: `whiteboard.state`, `whiteboard.feeds`, `whiteboard.live`,
`whiteboard.access`, `whiteboard.store`'s public names, `whiteboard.eventlog`, `whiteboard.domain`.
Handlers do not import handlers: what two handlers share lives in `http` or a layer below.
"""
