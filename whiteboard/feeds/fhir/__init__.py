"""The board as FHIR R4 (4.0.1) and FHIR R4 into the board: resources, searches, transactions, notifications.

`model` validates every resource sent and accepted with fhirclient's R4 4.0.1 models (docs/FHIR.md says why
that library); `codes` holds the code systems; `resources` maps wards, beds and patients to Location, Encounter,
Patient and Observation; `search` answers the search parameters over ward views; `transaction` turns a
`transaction` Bundle into one all-or-nothing `BedChanges`; `outcome` is the OperationOutcome of every refusal;
`notify` builds the Subscriptions Backport notification Bundles.
May import: `whiteboard.domain`, `whiteboard.types`, `whiteboard.errors` and the fhirclient models. Never web,
access, state, live's hub or the store's internals: the web layer hands in the ward views and the principal's
rights as plain values.
"""
