"""One HL7 v2 message in, its ACKs out: read it, map it, write it through the one write path, acknowledge.

`AA` (or `CA`) is only sent after the change is committed; a refused message changed nothing and says why
(MSA-3, ERR). A message seen before (same sender, same MSH-10) gets the ACKs it got then and is not
applied again (the store keeps them with the change, in one transaction).
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from whiteboard.domain.clock import utc_now
from whiteboard.errors import ApiError, DomainError, NotFound, Unavailable
from whiteboard.feeds import adt, oru
from whiteboard.feeds.ack import Code, Outcome, acks
from whiteboard.feeds.hl7_message import SUPPORTED_VERSIONS, AdtMessage, MessageError, parse
from whiteboard.feeds.locations import LocationError, LocationMap
from whiteboard.feeds.vitals import VitalsError
from whiteboard.live.ingest import Ingest
from whiteboard.metrics import Metrics
from whiteboard.store import Actor, FeedReceipt, WriteRequest

log = logging.getLogger("whiteboard.feeds.hl7")
SOURCE = "feed:hl7"


def decode(payload: bytes) -> str:
    """HL7 v2 defaults to ASCII; PAS systems send UTF-8 or Latin-1 (MSH-18). Never fails."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("latin-1")


def actor_for(msg: AdtMessage) -> Actor:
    name = f"HL7 {msg.sending_app or '?'}@{msg.sending_facility or '?'}"[:100]
    return Actor(name=name, role="feed", source=SOURCE)


class Hl7Feed:
    def __init__(
        self,
        ingest: Ingest,
        locations: LocationMap,
        zone: ZoneInfo,
        senders: tuple[str, ...] = (),
        metrics: Metrics | None = None,
    ) -> None:
        self._ingest = ingest
        self._metrics = metrics
        self._locations = locations
        self._zone = zone
        self._senders = frozenset(senders)

    async def handle(self, payload: bytes) -> tuple[str, ...]:
        """The ACK messages (text) for one framed message, in the order they are sent."""
        try:
            msg = parse(decode(payload), self._zone)
        except MessageError as exc:
            log.warning("HL7 message refused: %s", exc)
            self._count("other", "AR")
            return acks(None, Outcome(Code.MALFORMED, str(exc)))
        try:
            outcome, answer = await self._apply(msg)
        except Exception:  # a bug must cost one message an AR, never the connection or the server
            log.exception("HL7 %s %s: could not be handled", msg.event, msg.control_id)
            outcome, answer = Outcome(Code.REJECTED, "the board could not handle this message; nothing was saved"), None
        level = logging.INFO if outcome.ok else logging.WARNING
        log.log(level, "HL7 %s %s from %s: %s %s", msg.event, msg.control_id, msg.sender, outcome.code.name,
                outcome.reason)  # fmt: skip
        self._count(msg.event if msg.event in (*adt.HANDLED, oru.EVENT) else "other", "A" + outcome.code.letter)
        return answer if answer is not None else acks(msg, outcome)

    def _count(self, event: str, ack: str) -> None:
        if self._metrics is not None:
            self._metrics.hl7_messages.labels(event, ack).inc()

    async def _apply(self, msg: AdtMessage) -> tuple[Outcome, tuple[str, ...] | None]:
        if self._senders and msg.sending_facility not in self._senders:
            return Outcome(Code.REJECTED, f"sending facility {msg.sending_facility!r} is not allowed (MSH-4)"), None
        if not SUPPORTED_VERSIONS.match(msg.version):
            return Outcome(Code.UNSUPPORTED_VERSION, f"HL7 version {msg.version!r} is not 2.x (MSH-12)"), None
        try:
            if oru.is_oru(msg):
                change = oru.plan(msg, self._locations, self._zone, utc_now())
            else:
                change = adt.plan(msg, self._locations)
        except VitalsError as exc:  # an incomplete set, a reading the board cannot chart
            return Outcome(Code.REQUIRED_MISSING if exc.missing else Code.DATA_TYPE, exc.message), None
        except adt.Unsupported as exc:
            return Outcome(Code.UNSUPPORTED_EVENT, str(exc)), None
        except LocationError as exc:
            return Outcome(Code.UNKNOWN_KEY, str(exc)), None
        except MessageError as exc:
            return Outcome(Code.REQUIRED_MISSING, str(exc)), None
        except DomainError as exc:  # a field the board refuses (an NHS number that fails its check digit …)
            return Outcome(Code.DATA_TYPE, _reason(exc)), None
        accepted = acks(msg, Outcome(Code.ACCEPTED))
        receipt = FeedReceipt(
            msg.sender, msg.control_id, accepted, msg.recorded, change.key, change.undoes, change.admits
        )
        request = WriteRequest(change.ward, change.bed, change.patch, actor_for(msg),
                               request_id=f"hl7:{msg.control_id}"[:100], receipt=receipt)  # fmt: skip
        try:
            written = await self._ingest.submit(request)
        except Unavailable as exc:
            return Outcome(Code.REJECTED, f"{exc.message} (send it again)"), None
        except NotFound as exc:
            return Outcome(Code.UNKNOWN_KEY, f"{exc.message} ({change.summary})"), None
        except ApiError as exc:
            return Outcome(Code.BAD_VALUE, _reason(exc)), None
        except Exception:
            log.exception("HL7 %s %s: the write failed; nothing was saved", msg.event, msg.control_id)
            return Outcome(
                Code.REJECTED, "the board could not save this message; nothing was saved (send it again)"
            ), None
        if written.prior_acks is not None:
            return Outcome(Code.ACCEPTED, "a resend: applied once already"), written.prior_acks
        if written.cancel_pending:
            return Outcome(
                Code.ACCEPTED, "nothing to cancel yet: the event it cancels is refused if it comes"
            ), accepted
        return Outcome(Code.ACCEPTED), accepted


def _reason(exc: ApiError) -> str:
    return f"{exc.message} [{exc.code}{' ' + exc.field if exc.field else ''}]"
