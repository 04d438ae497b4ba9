"""The callback data of the broadcast wizard's and the progress message's buttons.

Only the values are packed ("bw:12:st:3:0"), so the names cost nothing of the 64 bytes; the prefix, the field
order and the action values are what buttons already sent carry, so they stay as they are.
"""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton

from bot.callbacks import Index, RowId


class WizardAction(StrEnum):
    # the segment menu
    EVERYONE = "all"
    STATUS = "st"  # toggles the status at `index`
    TRACK = "tr"  # toggles the track at `index`
    COHORT = "co"  # the next cohort
    IDLE = "idle"  # the next idle threshold
    QUESTIONS = "qs"  # the survey questions to filter by
    QUESTION = "q"  # the options of the question at `index`
    OPTION = "o"  # toggles `option` of the question at `index`
    MAIN = "main"  # back to the main filters
    NEXT = "next"  # the segment is chosen: on to the message
    # the later steps
    NO_BUTTONS = "nobtn"
    PREVIEW = "prev"
    SEND = "send"
    SCHEDULE = "sched"
    DROP = "drop"  # the draft is dropped, nothing sent
    STOP = "stop"  # a scheduled or running broadcast is cancelled


class WizardButton(CallbackData, prefix="bw"):
    broadcast: RowId
    action: WizardAction
    index: Index = 0  # which status, track or question
    option: Index = 0  # which option of the question


def button(text: str, broadcast_id: int, action: WizardAction, index: int = 0, option: int = 0) -> InlineKeyboardButton:
    data = WizardButton(broadcast=broadcast_id, action=action, index=index, option=option)
    return InlineKeyboardButton(text=text, callback_data=data.pack())
