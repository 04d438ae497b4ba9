"""Callback data of the student's buttons. Ids are small ints: callback_data is at most 64 bytes."""

from aiogram.filters.callback_data import CallbackData


class Answer(CallbackData, prefix="a"):
    enrollment: int
    question: int
    option: int


class Skip(CallbackData, prefix="k"):
    enrollment: int
    question: int


class Done(CallbackData, prefix="d"):
    enrollment: int
    step: int


class Resume(CallbackData, prefix="r"):
    enrollment: int


class AskCurator(CallbackData, prefix="q"):
    enrollment: int
