"""The checks every question gets, wherever it is asked: in the survey or in an outcome check-in."""

from collections.abc import Iterator

from journeys.spec import Question
from journeys.telegram_html import plain_text

ANSWERED_ROOM = 4096 - 100  # Telegram's message limit less «Question 3 of 4», the check mark and line breaks


def question_issues(question: Question, at: str) -> Iterator[tuple[str, str]]:
    if question.is_choice and not question.options:
        yield f"{at}.options", "a choice question needs at least one option"
    if not question.is_choice and question.options:
        yield f"{at}.options", "a free-text question cannot have options"
    if question.plan == "days" and any(o.days is None for o in question.options):
        yield f"{at}.options", "every option of a plan: days question needs days"
    if question.plan == "time" and any(o.time is None for o in question.options):
        yield f"{at}.options", "every option of a plan: time question needs a time"
    if question.plan == "timezone" and any(o.timezone is None for o in question.options):
        yield f"{at}.options", "every option of a plan: timezone question needs a timezone"
    if question.plan and not question.is_choice:
        yield f"{at}.plan", "only a choice question can set the study plan"
    if question.min_length > question.max_length:
        yield f"{at}.min_length", "min_length is larger than max_length"
    shown = len(plain_text(question.text))
    if not question.is_choice and shown + question.max_length > ANSWERED_ROOM:
        # the question's message is edited to show the answer under it
        both = f"with the question's {shown} characters, an answer of {question.max_length}"
        yield f"{at}.max_length", f"{both} would not fit in one Telegram message: keep both under {ANSWERED_ROOM}"
    seen_options: set[str] = set()
    for o, option in enumerate(question.options):
        if option.id in seen_options:
            yield f"{at}.options[{o}].id", f"duplicate option id {option.id!r}"
        seen_options.add(option.id)
