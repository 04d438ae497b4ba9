"""The outbox's typed payloads: one per kind, refused when wrong, and the JSON earlier versions stored still read."""

from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from bot.outbox.kinds import OutboxKind
from bot.outbox.messages import Out
from bot.outbox.payloads import (
    PAYLOADS,
    AlertPayload,
    CuratorNotePayload,
    MalformedPayload,
    NudgePayload,
    Payload,
    RelayPayload,
    ReplyPayload,
    StudentCardPayload,
    parse,
    stored_form,
)

HELLO = {"method": "send_message", "text": "Hello"}


def test_every_kind_has_exactly_its_own_payload_type() -> None:
    assert set(PAYLOADS) == set(OutboxKind)
    assert all(payload_type.kind is kind for kind, payload_type in PAYLOADS.items())


@pytest.mark.parametrize(
    ("kind", "stored", "expected"),
    [
        # what the previous, dict-based enqueue wrote for each kind's callers
        ("nudge", {"messages": [HELLO], "sent_parts": 0}, NudgePayload(messages=[Out.text("Hello")])),
        (
            "alert",
            {"messages": [HELLO], "sent_parts": 0, "alert_id": 7, "curator_student": 3},
            AlertPayload(messages=[Out.text("Hello")], alert_id=7, curator_student=3),
        ),
        (
            "relay",
            {"messages": [HELLO], "sent_parts": 1, "message_ids": [55], "curator_student": 3, "topic_recreated": True},
            RelayPayload(
                messages=[Out.text("Hello")], sent_parts=1, message_ids=[55], curator_student=3, topic_recreated=True
            ),
        ),
        (
            "reply",
            {"messages": [HELLO], "sent_parts": 0, "group_chat": -100, "group_message": 9, "group_thread": None},
            ReplyPayload(messages=[Out.text("Hello")], group_chat=-100, group_message=9),
        ),
        (
            "curator_note",
            {"messages": [HELLO], "sent_parts": 0, "thread_id": None},
            CuratorNotePayload(messages=[Out.text("Hello")]),
        ),
        (
            "student_card",
            {"messages": [HELLO], "sent_parts": 0, "thread_id": 12, "curator_student": 3},
            StudentCardPayload(messages=[Out.text("Hello")], thread_id=12, curator_student=3),
        ),
    ],
)
def test_rows_stored_by_the_previous_version_parse_as_their_kind(
    kind: str, stored: dict[str, Any], expected: Payload
) -> None:
    parsed = parse(kind, stored)
    assert type(parsed) is type(expected)
    assert parsed == expected


def test_a_payload_is_stored_under_the_keys_rows_always_had_and_parses_back() -> None:
    payload = AlertPayload(messages=[Out.text("Hello"), Out.pin(5)], alert_id=7, curator_student=3)
    stored = stored_form(payload)
    assert stored == {
        "messages": [HELLO, {"method": "pin_chat_message", "message_id": 5, "disable_notification": True}],
        "sent_parts": 0,
        "message_ids": [],
        "alert_id": 7,
        "curator_student": 3,
        "topic_recreated": False,
    }
    sent = parse("alert", stored).part_sent(41)
    assert (sent.sent_parts, sent.message_ids, sent.unsent) == (1, (41,), (Out.pin(5),))


def test_a_payload_missing_what_its_kind_needs_is_refused_when_built() -> None:
    with pytest.raises(ValidationError, match="alert_id"):
        AlertPayload(messages=[Out.text("Hello")], curator_student=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="group_chat"):
        ReplyPayload(messages=[Out.text("Hello")], group_chat="the group", group_message=9)
    with pytest.raises(ValidationError, match="curator_student"):
        NudgePayload(messages=[Out.text("Hello")], curator_student=3)  # type: ignore[call-arg]


def test_only_a_kind_s_own_payload_type_can_be_stored() -> None:
    with pytest.raises(TypeError, match="Payload is not the payload of an outbox kind"):
        stored_form(Payload(messages=[Out.text("Hello")]))

    class Lookalike(NudgePayload):  # claims a kind without being its payload type
        kind: ClassVar[OutboxKind] = OutboxKind.ALERT

    with pytest.raises(TypeError, match="Lookalike"):
        stored_form(Lookalike(messages=[Out.text("Hello")]))
    # built without validation, it still cannot reach the outbox unreadable
    unvalidated = AlertPayload.model_construct(messages=(Out.text("Hello"),))  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="alert_id"):
        stored_form(unvalidated)


@pytest.mark.parametrize(
    ("kind", "stored", "reason"),
    [
        ("alert", {"messages": [HELLO], "curator_student": 3}, "malformed alert payload: alert_id: Field required"),
        ("nudge", {"messages": [{"method": "drop_database"}]}, "cannot send with 'drop_database'"),
        ("nudge", {"messages": [HELLO], "sent_parts": 2}, "2 parts sent of 1"),
        ("nudge", {"messages": [HELLO], "alert_id": 7}, "alert_id: Extra inputs are not permitted"),
        ("nudge", "not an object", "malformed nudge payload"),
        ("carrier_pigeon", {"messages": [HELLO]}, "unknown outbox kind 'carrier_pigeon'"),
    ],
)
def test_a_malformed_stored_payload_is_reported_with_its_reason(kind: str, stored: object, reason: str) -> None:
    with pytest.raises(MalformedPayload) as raised:
        parse(kind, stored)
    assert reason in str(raised.value)
