"""parse_mode HTML as the Bot API reads it: what it refuses, and the plain text and entities it makes of the rest.

Written from the Bot API docs (core.telegram.org/bots/api#html-style) and from what the server really does (TDLib's
parse_html, which the Bot API server runs). Where the two differ, this follows the server, because a stand-in that is
stricter or looser than Telegram lets bugs through or invents them:
- a `&` or `>` that is not part of an entity or tag is kept as written (the docs say to escape them; the server does
  not insist), and so is an unknown entity such as `&nbsp;`; a known entity needs no `;` (`&lt` is `<`);
- a `<` always opens a tag, so `I <3 this` is refused: 'Unsupported start tag "3" at byte offset 2';
- tag names are case-insensitive, attribute names are not; `</>` closes the innermost tag;
- an `<a>` without href links to its own text; a link Telegram cannot open is dropped silently, not refused.
Offsets in error messages count UTF-8 bytes of the text as sent; entity offsets count UTF-16 code units of the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji", "span", "pre", "code"}
    | {"blockquote"}
)
SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",  # a span is only accepted with class="tg-spoiler"
}
# Entities that start together are listed outermost first, as Telegram orders them.
PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 1,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
SPACES = b" \t\r\n\v\x00"  # end of text counts as a space, as in the server's C string scan
LINK_USER_RE = re.compile(r"tg://user\?id=(\d{1,20})", re.IGNORECASE)
SCHEME_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
HOST_RE = re.compile(r"[\w.-]+(:\d{1,5})?", re.UNICODE)
UNPAIRED_SURROGATES = (
    "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"
)


class HtmlError(ValueError):
    """Telegram's reason, as it follows "can't parse entities: " in the Bot API's description."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Parsed:
    text: str
    entities: list[dict[str, Any]]


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the result
    start: int  # byte position in the result, for an <a> that links to its own text


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_html(source: str) -> Parsed:
    """The text and entities Telegram makes of `source` sent with parse_mode HTML; raises HtmlError where it refuses."""
    data = source.encode("utf-8", "surrogatepass")
    size = len(data)

    def at(i: int) -> int:
        return data[i] if i < size else 0

    out = bytearray()
    utf16 = 0
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    surrogate = False
    i = 0
    while i < size:
        c = data[i]
        if c == ord("&"):
            code, end = _entity(data, i)
            if code:
                surrogate |= 0xD800 <= code <= 0xDFFF
                out += chr(code).encode("utf-8", "surrogatepass")
                utf16 += 2 if code > 0xFFFF else 1
                i = end
                continue
        if c != ord("<"):
            if c & 0xC0 != 0x80:  # the first byte of a character
                utf16 += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != ord("/"):
            i, tag, argument = _start_tag(data, begin)
            stack.append(_Open(tag, argument, utf16, len(out)))
        else:
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {begin}")
            while at(i) not in SPACES and at(i) != ord(">"):
                i += 1
            end_name = _lower(data[begin + 2 : i])
            while at(i) in SPACES and at(i) != 0:
                i += 1
            if at(i) != ord(">"):
                raise HtmlError(f"Unclosed end tag at byte offset {begin}")
            top = stack.pop()
            if end_name and end_name != top.tag:
                raise HtmlError(
                    f'Unmatched end tag at byte offset {begin}, expected "</{top.tag}>", found "</{end_name}>"'
                )
            if utf16 > top.offset:  # an empty tag makes no entity
                _close(top, utf16, bytes(out[top.start :]), entities)
        i += 1  # past the '>'
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    if surrogate:
        raise HtmlError(UNPAIRED_SURROGATES)
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"], PRIORITY[e["type"]]))
    return Parsed(out.decode("utf-8"), entities)


def _lower(raw: bytes) -> str:
    return raw.lower().decode("utf-8", "replace")  # bytes.lower() touches ASCII only, like the server


def _entity(data: bytes, pos: int) -> tuple[int, int]:
    """(code point, position after it) of the entity at data[pos] == '&', or (0, pos) where there is none."""
    size = len(data)

    def at(i: int) -> int:
        return data[i] if i < size else 0

    end = pos + 1
    code = 0
    if at(end) == ord("#"):
        end += 1
        if at(end) == ord("x"):  # only a lower-case x makes it hexadecimal
            end += 1
            while chr(at(end)) in "0123456789abcdefABCDEF" and at(end):
                code = code * 16 + int(chr(at(end)), 16)
                end += 1
        else:
            while ord("0") <= at(end) <= ord("9"):
                code = code * 10 + at(end) - ord("0")
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while chr(at(end)).isascii() and chr(at(end)).isalpha():
            end += 1
        code = {b"lt": ord("<"), b"gt": ord(">"), b"amp": ord("&"), b"quot": ord('"')}.get(data[pos + 1 : end], 0)
        if not code:
            return 0, pos
    return code, end + 1 if at(end) == ord(";") else end


def _start_tag(data: bytes, begin: int) -> tuple[int, str, str]:
    """Reads the start tag at data[begin] == '<': (position of its '>', tag name, the argument its attributes give)."""
    size = len(data)

    def at(i: int) -> int:
        return data[i] if i < size else 0

    i = begin + 1
    while at(i) not in SPACES and at(i) != ord(">"):
        i += 1
    if at(i) == 0:
        raise HtmlError(f"Unclosed start tag at byte offset {begin}")
    tag = _lower(data[begin + 1 : i])
    if tag not in TAGS:
        raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {begin}')
    argument = ""
    while at(i) != ord(">"):
        while at(i) != 0 and at(i) in SPACES:
            i += 1
        if at(i) == ord(">"):
            break
        name_start = i
        while at(i) not in SPACES and at(i) not in b"=>/\"'":
            i += 1
        name = data[name_start:i]
        if not name:
            raise HtmlError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        while at(i) != 0 and at(i) in SPACES:
            i += 1
        if at(i) != ord("="):  # an attribute without a value
            if at(i) == 0:
                raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            if tag == "blockquote" and name == b"expandable":
                argument = "1"
            continue
        i += 1
        while at(i) != 0 and at(i) in SPACES:
            i += 1
        if at(i) == 0:
            raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if at(i) not in b"\"'":  # an unquoted value: letters, digits, '.' and '-', case-insensitive
            token_start = i
            while at(i) and ((chr(at(i)).isascii() and chr(at(i)).isalnum()) or at(i) in b".-"):
                i += 1
            value = _lower(data[token_start:i])
            if at(i) not in SPACES and at(i) != ord(">"):
                raise HtmlError(f"Unexpected end of name token at byte offset {token_start}")
        else:
            quote = at(i)
            i += 1
            raw = bytearray()
            while at(i) != quote and at(i) != 0:
                if at(i) == ord("&"):
                    code, end = _entity(data, i)
                    if code:
                        raw += chr(code).encode("utf-8", "surrogatepass")
                        i = end
                        continue
                raw.append(at(i))
                i += 1
            if at(i) == quote:
                i += 1
            value = raw.decode("utf-8", "replace")
        if at(i) == 0:
            raise HtmlError(f"Unclosed start tag at byte offset {begin}")
        if (tag, name) in (("a", b"href"), ("tg-emoji", b"emoji-id")):
            argument = value
        elif tag == "code" and name == b"class" and value.startswith("language-"):
            argument = value.removeprefix("language-")
        elif tag == "span" and name == b"class" and value.startswith("tg-"):
            argument = value.removeprefix("tg-")
        elif tag == "blockquote" and name == b"expandable":
            argument = "1"
    if tag == "span" and argument != "spoiler":
        raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    return i, tag, argument


def _close(top: _Open, utf16: int, inner: bytes, entities: list[dict[str, Any]]) -> None:
    entity: dict[str, Any] = {"type": "", "offset": top.offset, "length": utf16 - top.offset}
    last = entities[-1] if entities else {}
    same_range = last.get("offset") == entity["offset"] and last.get("length") == entity["length"]
    if top.tag in SIMPLE_TYPES:
        entity["type"] = SIMPLE_TYPES[top.tag]
    elif top.tag == "tg-emoji":
        if not re.fullmatch(r"-?\d{1,19}", top.argument) or int(top.argument) == 0:
            raise HtmlError("Invalid custom emoji identifier specified")
        entity |= {"type": "custom_emoji", "custom_emoji_id": top.argument}
    elif top.tag == "a":
        url = top.argument or inner.decode("utf-8", "surrogatepass")
        user = LINK_USER_RE.fullmatch(url)
        if user:
            entity |= {"type": "text_mention", "user": {"id": int(user[1]), "is_bot": False, "first_name": ""}}
        elif checked := _checked_link(url):
            entity |= {"type": "text_link", "url": checked}
        else:
            return  # Telegram drops a link it cannot open and keeps the text
    elif top.tag == "pre":
        if same_range and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"  # <pre><code class="language-x">: one pre entity with the language
            return
        entity["type"] = "pre"
    elif top.tag == "code":
        if same_range and last["type"] == "pre" and top.argument:
            last["language"] = top.argument  # <code class="language-x"><pre>: the same, the other way round
            return
        entity |= {"type": "code", "language": top.argument} if top.argument else {"type": "code"}
    else:  # blockquote
        entity["type"] = "expandable_blockquote" if top.argument else "blockquote"
    entities.append(entity)


def _checked_link(url: str) -> str:
    """The URL Telegram would link to, or "" where it would drop the link (no scheme means http)."""
    url = url.strip()
    scheme = SCHEME_RE.match(url)
    name = scheme[1].lower() if scheme and not url[scheme.end() :][:1].isdigit() else ""  # host:port is no scheme
    if name in ("tg", "ton"):
        return url
    if name and name not in ("http", "https"):
        return ""  # javascript:, mailto:, ftp:// ...
    if not name:
        url = f"http://{url}"
    rest = url.split("://", 1)[1]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    if not host or " " in url or not HOST_RE.fullmatch(host):
        return ""
    return url
