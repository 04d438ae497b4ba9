"""Where in a journey file an issue is: the path of keys and indexes a `file:path:message` line names."""

import re

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def path_part(key: str) -> str:
    """A key as it appears in a path: quoted when it holds anything but letters, digits, _ and -."""
    return key if _PLAIN_KEY.fullmatch(key) else repr(key)


def format_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":  # pydantic's marker of a dict key that failed: the path already names the key
            path += f".{path_part(part)}" if path else path_part(part)
    return path or "(document)"
