"""Callback data of the student's buttons, and the bounded numbers every button's data is made of.

callback_data is at most 64 bytes and comes back from the client as typed, so anyone can forge it: every
number is bounded here to what the column it is looked up in holds. A forged value fails parsing, no
handler matches, and the fallback answers the press as out of date instead of the database refusing it.
"""

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from bot.names import BIGINT_MAX

INT_MAX = 2**31 - 1  # Integer columns (our primary keys) are int4 on PostgreSQL
INDEX_MAX = 9_999  # positions in a journey's lists and menus: far more than a journey file holds

RowId = Annotated[int, Field(ge=1, le=INT_MAX)]
"""The id of a row with an Integer primary key: enrollments, alerts, broadcasts."""

Index = Annotated[int, Field(ge=0, le=INDEX_MAX)]
"""A position in a list: a question, an option, a step, a menu entry."""

UserId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
"""A Telegram user id, stored in BigInteger columns."""

Action = Annotated[str, Field(min_length=1, max_length=16)]
"""A short action word; the handler checks it against the actions it knows."""

JourneyId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
"""A journey id as journey files write them; the handler checks that the catalog has it."""

FileId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
"""An id of a journey file's lists (an offer, a check-in), as journey files write them."""


class Answer(CallbackData, prefix="a"):
    enrollment: RowId
    question: Index
    option: Index


class Skip(CallbackData, prefix="k"):
    enrollment: RowId
    question: Index


class Done(CallbackData, prefix="d"):
    enrollment: RowId
    step: Index


class Resume(CallbackData, prefix="r"):
    enrollment: RowId


class AskCurator(CallbackData, prefix="q"):
    enrollment: RowId


class OpenCourse(CallbackData, prefix="co"):
    """A course of the catalog: start it, or go back to it."""

    journey: JourneyId


class SwitchCourse(CallbackData, prefix="cs"):
    """/courses: make this enrollment the current one."""

    enrollment: RowId


class OfferAction(StrEnum):
    BUY = "b"  # pay in Telegram Stars: the bot sends the invoice
    DISMISS = "d"  # "Not now": never shown again
    LEAD = "l"  # "talk to a curator": a sales lead in the curator desk


class OfferPress(CallbackData, prefix="of"):
    """A button under an offer (Learn more and the school's checkout are URL buttons)."""

    enrollment: RowId
    offer: FileId
    act: OfferAction


class ClubAction(StrEnum):
    RENEW = "r"  # show /club: the subscription's invoice link
    CANCEL = "c"  # stop the Stars subscription renewing (access stays until the period ends)
    RESUME = "e"  # let it renew again


class ClubPress(CallbackData, prefix="cl"):
    """A button under a club message or /club."""

    act: ClubAction


class CheckinAnswer(CallbackData, prefix="ci"):
    """An option under a check-in question (`checkin` and `question` are positions in the journey file)."""

    enrollment: RowId
    checkin: Index
    question: Index
    option: Index


class CheckinSkip(CallbackData, prefix="ck"):
    enrollment: RowId
    checkin: Index
    question: Index


class Consult(CallbackData, prefix="cn"):
    """The fit check's free consultation: a sales lead for the curators."""

    enrollment: RowId
