"""Durations written the way people write them in journey files: 90s, 30m, 2h, 3d, 1w."""

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
# longer than any course step or reminder; keeps date arithmetic (start + pace * steps) far from overflowing
MAX_DURATION = timedelta(days=366)
_FORMS = "write it as 90s, 30m, 2h, 3d or 1w"


def parse_duration(value: str | int) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected a duration such as 90s, 30m, 2h, 3d or 1w, not {type(value).__name__}")
    if isinstance(value, int):
        seconds = value
    else:
        match = _PATTERN.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration: {_FORMS}")
        digits, unit = match.groups()
        digits = digits.lstrip("0") or "0"
        if len(digits) > 12:  # int() refuses a few thousand digits, and no sane duration has 13
            raise ValueError(f"{value!r} is too long: {within_bounds()}")
        seconds = int(digits) * _UNITS[unit]
    if seconds < 0:
        raise ValueError(f"{value!r} is negative: a duration is 0s or longer")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{value!r} is too long: {within_bounds()}")
    return timedelta(seconds=seconds)


def within_bounds() -> str:
    return f"at most {format_duration(MAX_DURATION)}"


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
