"""Durations written the way people write them in journey files: 90s, 30m, 2h, 3d, 1w."""

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_duration(value: str | int) -> timedelta:
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 30m, 2h, 3d or 1w")
    if isinstance(value, int):
        return timedelta(seconds=value)
    match = _PATTERN.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration: write it as 90s, 30m, 2h, 3d or 1w")
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNITS[unit])


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
