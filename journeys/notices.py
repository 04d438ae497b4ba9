"""The short notices the domain can give, by key. bot/render.py owns their texts; mypy checks it has one for each."""

from enum import StrEnum


class NoticeKey(StrEnum):
    ALREADY_DONE = "already_done"  # Done pressed on a step already counted
    ALREADY_ANSWERED = "already_answered"  # a survey button of a question answered before
    STALE = "stale"  # a button that no longer applies
    NOT_YOURS = "not_yours"  # another student's button
    NOT_ENROLLED = "not_enrolled"  # anything before /start
    FALLBACK = "fallback"  # a message the bot does not expect now
    LINK_UNKNOWN = "link_unknown"  # a start link code nobody issued
    LINK_USED = "link_used"  # a start link code another account has bound
    SURVEY_FIRST = "survey_first"  # /progress before the survey is finished
    NO_PROGRESS_NOT_A_FIT = "no_progress_not_a_fit"  # /progress on a course the fit check said does not suit
    COURSE_UNKNOWN = "course_unknown"  # a deep link or button naming a journey the bot does not run
