"""Feeds to and from hospital systems: the FHIR R4 AuditEvent export (`fhir_audit`) and FHIR R4 (`fhir/`).

HL7 v2 over MLLP and FHIR resources arrive here next; they write through `whiteboard.live`'s ingest
like every other writer.
May import: `whiteboard.live` (the write path), `whiteboard.domain`, `whiteboard.types`,
`whiteboard.errors`. Never web, access or the store's internals.
"""
