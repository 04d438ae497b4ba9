"""Every kind of outbox row. The values are what the `kind` column holds: renaming one strands old rows."""

from enum import StrEnum


class OutboxKind(StrEnum):
    # to a student, from the journey's engagement
    NUDGE = "nudge"
    REWARD = "reward"
    COHORT_START = "cohort_start"
    # to a student, from the care team's broadcast wizard
    BROADCAST = "broadcast"
    # the curator desk
    ALERT = "alert"
    ALERT_EDIT = "alert_edit"  # an alert message changed in place (resolved)
    RELAY = "relay"  # a student's question copied to the group
    REPLY = "reply"  # a curator's message copied to the student
    CURATOR_NOTE = "curator_note"  # delivered / not delivered, under the curator's message
    DIGEST = "digest"
    STUDENT_CARD = "student_card"  # pinned at the top of the student's topic
    STUDENT_CARD_PIN = "student_card_pin"
    # the graduate club (bot/club/)
    CLUB_INVITE = "club_invite"  # the member's personal invite link
    CLUB_REMINDER = "club_reminder"  # the period ends soon: renew
    CLUB_REMOVED = "club_removed"  # access ended: out of the group, with a renew button
    CLUB_WINBACK = "club_winback"  # once, some days after removal
    CLUB_RIGHTS = "club_rights"  # to the admins: the bot lost its admin rights in the club
    # to a student, after (or during) the course: what the school sells next, and how the student is doing
    OFFER = "offer"
    OFFER_REMINDER = "offer_reminder"  # the one reminder before an offer's deadline
    CHECKIN = "checkin"  # one question of an outcome check-in
    # revenue: what a purchase granted (or a refund took back), told to the student and to the curator desk
    GRANT = "grant"
    GRANT_NOTE = "grant_note"
