"""What an outbox row carries: one typed payload per kind, validated when queued and parsed when sent.

The row's JSON `payload` column holds the fields under their own names: the keys rows were stored with
before the payloads were typed, so rows queued by an earlier version still parse and go out.
"""

from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, ValidationError, model_validator

from bot.outbox.kinds import OutboxKind
from bot.outbox.messages import Out


def _out(value: object) -> Out:
    if isinstance(value, Out):
        return value
    if isinstance(value, dict) and isinstance(value.get("method"), str):
        return Out.from_json(value)  # an unknown method is a ValueError: the payload does not validate
    raise ValueError("a message is an object with a method")


StoredOut = Annotated[Out, PlainValidator(_out), PlainSerializer(Out.to_json)]


class Payload(BaseModel):
    """What every row carries: its messages, and how far sending them got (a restart resumes, not repeats)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[OutboxKind]

    messages: tuple[StoredOut, ...]
    sent_parts: int = Field(default=0, ge=0)
    message_ids: tuple[int, ...] = ()
    thread_id: int | None = None  # the forum topic to send into, unless a before-hook picks one

    @model_validator(mode="after")
    def _progress_fits(self) -> Self:
        if self.sent_parts > len(self.messages):
            raise ValueError(f"{self.sent_parts} parts sent of {len(self.messages)}")
        return self

    def stored(self) -> dict[str, Any]:
        """The JSON the row's payload column holds."""
        return self.model_dump(mode="json", exclude_none=True)

    def part_sent(self, message_id: int) -> Self:
        """The next part went out as `message_id`."""
        return self.model_copy(
            update={"sent_parts": self.sent_parts + 1, "message_ids": (*self.message_ids, message_id)}
        )

    @property
    def unsent(self) -> tuple[Out, ...]:
        return self.messages[self.sent_parts :]


# ----- to students ---------------------------------------------------------------------------------


class NudgePayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.NUDGE


class RewardPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.REWARD


class CohortStartPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.COHORT_START


class BroadcastPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.BROADCAST


class ReplyPayload(Payload):
    """A curator's message copied to the student; the group message it came from gets a delivery note."""

    kind: ClassVar[OutboxKind] = OutboxKind.REPLY
    group_chat: int
    group_message: int
    group_thread: int | None = None


# ----- to the curator group ------------------------------------------------------------------------


class AboutStudent(Payload):
    """A group message about one student: it goes into their forum topic, created if need be."""

    curator_student: int
    topic_recreated: bool = False  # its topic was deleted and made anew once already: not again


class AlertPayload(AboutStudent):
    kind: ClassVar[OutboxKind] = OutboxKind.ALERT
    alert_id: int


class RelayPayload(AboutStudent):
    kind: ClassVar[OutboxKind] = OutboxKind.RELAY


class StudentCardPayload(Payload):
    """The card at the top of a student's new topic: once sent, it is pinned and linked to the student."""

    kind: ClassVar[OutboxKind] = OutboxKind.STUDENT_CARD
    curator_student: int
    thread_id: int


class StudentCardPinPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.STUDENT_CARD_PIN


class AlertEditPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.ALERT_EDIT


class CuratorNotePayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.CURATOR_NOTE


class DigestPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.DIGEST


# ----- the graduate club ----------------------------------------------------------------------------


class ClubInvitePayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.CLUB_INVITE


class ClubReminderPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.CLUB_REMINDER


class ClubRemovedPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.CLUB_REMOVED


class ClubWinbackPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.CLUB_WINBACK


class ClubRightsPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.CLUB_RIGHTS


# ----- offers and check-ins ------------------------------------------------------------------------


class OfferPayload(Payload):
    """An offer to a student; once sent, the event log records it shown."""

    kind: ClassVar[OutboxKind] = OutboxKind.OFFER
    enrollment_id: int
    offer_id: str


class OfferReminderPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.OFFER_REMINDER
    enrollment_id: int
    offer_id: str


class CheckinPayload(Payload):
    kind: ClassVar[OutboxKind] = OutboxKind.CHECKIN
    enrollment_id: int
    checkin_id: str
    question_id: str


# ----- revenue -------------------------------------------------------------------------------------


class GrantPayload(Payload):
    """To the student: what their purchase gave them (the new course's welcome, a file, a link), or took back."""

    kind: ClassVar[OutboxKind] = OutboxKind.GRANT


class GrantNotePayload(AboutStudent):
    """To the curator desk, in the student's topic: mentor support bought (or refunded)."""

    kind: ClassVar[OutboxKind] = OutboxKind.GRANT_NOTE


PAYLOADS: dict[OutboxKind, type[Payload]] = {
    payload.kind: payload
    for payload in (
        NudgePayload,
        RewardPayload,
        CohortStartPayload,
        BroadcastPayload,
        ReplyPayload,
        AlertPayload,
        RelayPayload,
        StudentCardPayload,
        StudentCardPinPayload,
        AlertEditPayload,
        CuratorNotePayload,
        DigestPayload,
        ClubInvitePayload,
        ClubReminderPayload,
        ClubRemovedPayload,
        ClubWinbackPayload,
        ClubRightsPayload,
        OfferPayload,
        OfferReminderPayload,
        CheckinPayload,
        GrantPayload,
        GrantNotePayload,
    )
}


class MalformedPayload(ValueError):
    """A stored row no payload type accepts: it is given up with this reason, never sent."""


def parse(kind: str, stored: object) -> Payload:
    """A row's payload as its kind's type, once, when the sender takes it up."""
    try:
        payload_type = PAYLOADS[OutboxKind(kind)]
    except ValueError:
        raise MalformedPayload(f"unknown outbox kind {kind!r}") from None
    try:
        return payload_type.model_validate(stored)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, error['loc'])) or 'payload'}: {error['msg']}" for error in e.errors())
        raise MalformedPayload(f"malformed {kind} payload: {problems}") from None


def stored_form(payload: Payload) -> dict[str, Any]:
    """The payload as the row stores it, once it is sure to parse back as the same kind when it is sent: a
    wrong payload is refused where it is queued, not found out later by the sender."""
    kind = getattr(type(payload), "kind", None)
    if kind is None or PAYLOADS.get(kind) is not type(payload):
        raise TypeError(f"{type(payload).__name__} is not the payload of an outbox kind")
    stored = payload.stored()
    type(payload).model_validate(stored)  # also catches a payload built without validation (model_construct)
    return stored
