"""What happened to a student, as the append-only event log records it: the facts metrics are computed from.

The values are stored in `events.type`; renaming one would orphan the rows already recorded under it.
"""

from enum import StrEnum


class EventType(StrEnum):
    # the student path
    ENROLLED = "enrolled"
    LMS_LINKED = "lms_linked"
    SURVEY_ANSWERED = "survey_answered"
    TRACK_ASSIGNED = "track_assigned"
    NOT_A_FIT = "not_a_fit"  # the survey's fit check: the course does not suit the answers
    COURSE_SWITCHED = "course_switched"  # /courses: another enrollment became the current one
    STARTED = "started"
    STEP_COMPLETED = "step_completed"
    COMPLETED = "completed"  # the whole course
    # keeping students moving
    REWARD_EARNED = "reward_earned"
    NUDGED = "nudged"
    STALLED = "stalled"
    # the curator desk
    ALERT_RAISED = "alert_raised"
    ALERT_TAKEN = "alert_taken"
    ALERT_SNOOZED = "alert_snoozed"
    ALERT_RESOLVED = "alert_resolved"
    ALERT_RETURNED = "alert_returned"
    CURATOR_QUESTION = "curator_question"
    CURATOR_REPLIED = "curator_replied"
    # after the course: offers and outcome check-ins
    OFFER_SHOWN = "offer_shown"
    OFFER_CLICKED = "offer_clicked"
    OFFER_CHECKOUT_STARTED = "offer_checkout_started"
    OFFER_BOUGHT = "offer_bought"
    OFFER_DISMISSED = "offer_dismissed"
    OFFER_LEAD = "offer_lead"  # a sales lead raised in the curator desk
    CHECKIN_ASKED = "checkin_asked"
    CHECKIN_ANSWERED = "checkin_answered"
    # reachability, from Telegram's my_chat_member
    BOT_BLOCKED = "bot_blocked"
    BOT_UNBLOCKED = "bot_unblocked"
    # the ledger (bot/revenue/): money in, money back
    PURCHASED = "purchased"
    REFUNDED = "refunded"
    # the graduate club (bot/club/)
    CLUB_JOINED = "club_joined"  # a join request approved
    CLUB_REMOVED = "club_removed"  # taken out of the group: access ended (or refunded)
    # feedback (journeys/feedback*.py). Each carries journeys.feedback_answers.FeedbackFacts.to_json():
    # journey, track, cohort, kind, subject, step, stage and curator_id, and as noted:
    FEEDBACK_ASKED = "feedback_asked"  # queued (or attached to a Done confirmation); no score
    FEEDBACK_REMINDED = "feedback_reminded"  # its one reminder was queued
    FEEDBACK_ANSWERED = "feedback_answered"  # the first answer: score
    FEEDBACK_CHANGED = "feedback_changed"  # another press within a day: score and previous
    FEEDBACK_COMMENT = "feedback_comment"  # the comment after a score (the text stays in the feedback row)
    FEEDBACK_ALERT_RAISED = "feedback_alert_raised"  # a low score reached the curator desk: score
    FEEDBACK_REVIEW_OFFERED = "feedback_review_offered"  # a promoter was shown the review link: score
