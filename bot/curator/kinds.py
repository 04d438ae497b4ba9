"""What the desk puts into the outbox: each kind has its own hooks in the sender."""

from enum import StrEnum


class DeskKind(StrEnum):
    ALERT = "alert"
    EDIT = "alert_edit"  # an alert message changed in place (resolved)
    RELAY = "relay"  # a student's question copied to the group
    REPLY = "reply"  # a curator's message copied to the student
    NOTE = "curator_note"  # delivered / not delivered, under the curator's message
    DIGEST = "digest"
    CARD = "student_card"  # pinned at the top of the student's topic
    CARD_PIN = "student_card_pin"
