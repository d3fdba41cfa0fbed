"""The FHIR R4 endpoints under /fhir (CONTRACT.md, "FHIR R4"): reads and searches (`rest`), the transaction
(`transaction`), Subscriptions over a websocket (`subscriptions`), and what they share (`common`: the
OperationOutcome answers, the wards a credential covers, the read audit).
May import: `whiteboard.feeds.fhir` (the mapping), `whiteboard.web.http`, `whiteboard.access`, `whiteboard.state`,
`whiteboard.live` and `whiteboard.domain`; no other handler module (handlers do not import handlers).
"""
