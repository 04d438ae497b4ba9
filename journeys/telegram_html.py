"""Checks a text the way Telegram's parser reads parse_mode HTML, so a journey file cannot hold a message that
Telegram would refuse with "can't parse entities" (or silently strip) when it is finally sent.

Follows the Bot API "HTML style" rules and Telegram's leniency where schools rely on it: a bare `&` or `>` that
starts no entity is shown as written ("Q&A", "a > b"), as the Bot API server does.
"""

import re
from dataclasses import dataclass

# tag → the attributes it needs (Telegram ignores the others)
_TAGS = {
    "b": (),
    "strong": (),
    "i": (),
    "em": (),
    "u": (),
    "ins": (),
    "s": (),
    "strike": (),
    "del": (),
    "span": ("class",),
    "tg-spoiler": (),
    "a": ("href",),
    "tg-emoji": ("emoji-id",),
    "code": (),
    "pre": (),
    "blockquote": (),
}
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTRIBUTE = re.compile(r"""\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_END_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_ESCAPES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlError(ValueError):
    """The first problem Telegram would have with the text; `at` is the character position (0-based)."""

    def __init__(self, message: str, at: int) -> None:
        self.at = at
        super().__init__(f"{message} (at character {at + 1})")


@dataclass(frozen=True)
class _Open:
    tag: str
    at: int


def _entity(text: str, i: int) -> tuple[str, int]:
    """The character an entity at text[i] stands for, and where the entity ends; a bare "&" stands for itself."""
    match = _ENTITY.match(text, i)
    if match is None:
        return "&", i + 1
    named, decimal, hexadecimal = match.groups()
    if named:
        return _ESCAPES[named], match.end()
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlError(f"{match.group()} is not a character", i)
    return chr(code), match.end()


def _start_tag(text: str, i: int, stack: list[_Open]) -> tuple[_Open, int]:
    name = _NAME.match(text, i + 1)
    tag = name.group().lower() if name else ""
    if name is None:
        raise HtmlError('"<" starts no tag: write it as &lt;', i)
    if tag not in _TAGS:
        raise HtmlError(f'Telegram does not support the tag <{tag}> (a plain "<" is written &lt;)', i)
    j, attributes = name.end(), {}
    while True:
        attribute = _ATTRIBUTE.match(text, j)
        if attribute is None or attribute.end() == j:
            break
        key, *values = attribute.groups()
        attributes[key.lower()] = next((v for v in values if v is not None), "")
        j = attribute.end()
    while j < len(text) and text[j].isspace():
        j += 1
    if j >= len(text) or text[j] != ">":
        raise HtmlError(f"the tag <{tag}> is not closed with >", i)
    for needed in _TAGS[tag]:
        if not attributes.get(needed, "").strip():
            raise HtmlError(f'<{tag}> needs a {needed}="..." attribute', i)
    if tag == "span" and attributes["class"] != "tg-spoiler":
        raise HtmlError('<span> is only for spoilers: write <span class="tg-spoiler">', i)
    if tag == "tg-emoji" and not attributes["emoji-id"].isdigit():
        raise HtmlError("<tg-emoji> needs a numeric emoji-id", i)
    _check_nesting(tag, i, stack)
    return _Open(tag, i), j + 1


def _check_nesting(tag: str, at: int, stack: list[_Open]) -> None:
    """Telegram drops entities nested where it does not allow them; an author wants to hear, not lose them."""
    for outer in stack:
        language = outer is stack[-1] and outer.tag == "pre" and tag == "code"  # <pre><code class="language-x">
        if outer.tag in ("code", "pre") and not language:
            raise HtmlError(f"<{tag}> cannot be inside <{outer.tag}>: code shows its text as it is", at)
    if tag == "a" and any(o.tag == "a" for o in stack):
        raise HtmlError("a link cannot be inside another link", at)
    if tag == "blockquote" and any(o.tag == "blockquote" for o in stack):
        raise HtmlError("a blockquote cannot be inside another blockquote", at)


def _end_tag(text: str, i: int, stack: list[_Open]) -> int:
    match = _END_TAG.match(text, i)
    if match is None:
        raise HtmlError('a broken end tag: write "<" as &lt;', i)
    tag = match.group(1).lower()
    if not stack:
        raise HtmlError(f"</{tag}> closes nothing", i)
    if stack[-1].tag != tag:
        raise HtmlError(f"</{tag}> found where </{stack[-1].tag}> was expected: close tags in reverse order", i)
    stack.pop()
    return match.end()


def plain_text(text: str) -> str:
    """What the reader sees of `text` sent with parse_mode HTML; raises HtmlError where Telegram would refuse it."""
    shown: list[str] = []
    stack: list[_Open] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            decoded, i = _entity(text, i)
            shown.append(decoded)
        elif char == "<" and text.startswith("</", i):
            i = _end_tag(text, i, stack)
        elif char == "<":
            opened, i = _start_tag(text, i, stack)
            stack.append(opened)
        else:
            shown.append(char)
            i += 1
    if stack:
        raise HtmlError(f"<{stack[-1].tag}> is never closed", stack[-1].at)
    return "".join(shown)
