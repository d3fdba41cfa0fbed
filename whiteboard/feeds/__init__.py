"""Feeds to and from hospital systems: HL7 v2 ADT over MLLP (`mllp` framing, `hl7_message` reading with
python-hl7, `locations` the location map, `adt` what each event does, `ack` the acknowledgements, `hl7_feed`
one message end to end, `listener` the asyncio server, `sender` and `demo_stream` the demo PAS), the FHIR R4
AuditEvent export (`fhir_audit`) and FHIR R4 (`fhir/`: pure mapping between the board and R4 resources).

Every message writes through `whiteboard.live`'s ingest like every other writer.
May import: `whiteboard.live` (the write path), the store's public face (`whiteboard.store`: its records),
`whiteboard.domain`, `whiteboard.settings`, `whiteboard.types`, `whiteboard.errors`. Never web, access, state,
the hub or the store's internals.
"""
