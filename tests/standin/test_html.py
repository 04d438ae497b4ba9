"""The stand-in's parse_mode HTML parser reads texts the way the Bot API server does (TDLib's parse_html)."""

from typing import Any

import pytest

from bot.standin.html import HtmlError, parse_html, utf16_length


def e(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "offset": offset, "length": length} | extra


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("plain", "plain", []),
        ("<b>bold</b> <strong>too</strong>", "bold too", [e("bold", 0, 4), e("bold", 5, 3)]),
        (
            "<i>a</i><em>b</em><u>c</u><ins>d</ins>",
            "abcd",
            [e("italic", 0, 1), e("italic", 1, 1), e("underline", 2, 1), e("underline", 3, 1)],
        ),
        ("<s>a</s><strike>b</strike><del>c</del>", "abc", [e("strikethrough", i, 1) for i in range(3)]),
        ('<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>', "xy", [e("spoiler", 0, 1), e("spoiler", 1, 1)]),
        ("<span class=tg-spoiler>unquoted</span>", "unquoted", [e("spoiler", 0, 8)]),
        (
            '<a href="https://example.com/a?b=1&amp;c=2">link</a>',
            "link",
            [e("text_link", 0, 4, url="https://example.com/a?b=1&c=2")],
        ),
        ("<a>example.com</a>", "example.com", [e("text_link", 0, 11, url="http://example.com")]),
        (
            '<a href="tg://user?id=42">Ann</a>',
            "Ann",
            [e("text_mention", 0, 3, user={"id": 42, "is_bot": False, "first_name": ""})],
        ),
        ('<a href="javascript:alert(1)">kept as text</a>', "kept as text", []),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
            "👍",
            [e("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286")],
        ),
        ("<code>x = 1</code>", "x = 1", [e("code", 0, 5)]),
        ('<code class="language-python">x</code>', "x", [e("code", 0, 1)]),
        ("<pre>block</pre>", "block", [e("pre", 0, 5)]),
        ('<pre><code class="language-python">print()</code></pre>', "print()", [e("pre", 0, 7, language="python")]),
        ('<code class="language-go"><pre>go</pre></code>', "go", [e("pre", 0, 2, language="go")]),
        ("<blockquote>q</blockquote>", "q", [e("blockquote", 0, 1)]),
        ("<blockquote expandable>long</blockquote>", "long", [e("expandable_blockquote", 0, 4)]),
        ("<b>bold <i>both</i></b>", "bold both", [e("bold", 0, 9), e("italic", 5, 4)]),
        ("<i><b>same</b></i>", "same", [e("bold", 0, 4), e("italic", 0, 4)]),  # same range: by type, like Telegram
        ("<B>upper</B>", "upper", [e("bold", 0, 5)]),
        ("<b>closed by</>", "closed by", [e("bold", 0, 9)]),
        ("<b >spaced</b >", "spaced", [e("bold", 0, 6)]),
        ("<b></b>empty tags make no entity", "empty tags make no entity", []),
        ("&lt;b&gt; &amp; &quot;", '<b> & "', []),
        ("&lt without semicolon", "< without semicolon", []),
        ("&#60; &#x3C; &#128512;", "< < 😀", []),
        # Telegram is lenient where the docs are strict: these are accepted and shown as written.
        ("Tom & Jerry", "Tom & Jerry", []),
        ("5 > 3 and a->b", "5 > 3 and a->b", []),
        ("&nbsp; &copy; &#X3C; &#0; &", "&nbsp; &copy; &#X3C; &#0; &", []),
        ("&ltx", "&ltx", []),  # a longer name is not the entity
        # Offsets count UTF-16 code units: an emoji outside the BMP counts two, Cyrillic one.
        ("😀 <b>жирный</b>", "😀 жирный", [e("bold", 3, 6)]),
        ("<b>𝐀</b><i>é</i>", "𝐀é", [e("bold", 0, 2), e("italic", 2, 1)]),
    ],
)
def test_accepted_html_gives_telegrams_text_and_entities(html: str, text: str, entities: list[dict[str, Any]]) -> None:
    parsed = parse_html(html)
    assert (parsed.text, parsed.entities) == (text, entities)


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("I <3 this", 'Unsupported start tag "3" at byte offset 2'),
        ("line<br>break", 'Unsupported start tag "br" at byte offset 4'),
        ("Привет <p>", 'Unsupported start tag "p" at byte offset 13'),  # byte offsets: Cyrillic is 2 bytes
        ("x <<b>y</b>", 'Unsupported start tag "<b" at byte offset 2'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</i>", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("ends with <", "Unclosed start tag at byte offset 10"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ('<a href="x', "Unclosed start tag at byte offset 0"),
        ("<a href=", 'Unclosed start tag "a" at byte offset 0'),
        ("<b x", 'Unclosed start tag "b" at byte offset 0'),
        ("<b =x>", 'Empty attribute name in the tag "b" at byte offset 0'),
        ("<a href=x/y>", "Unexpected end of name token at byte offset 8"),
        ("<span>no class</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<span class="spoiler">x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<tg-emoji>👍</tg-emoji>", "Invalid custom emoji identifier specified"),
        ('<tg-emoji emoji-id="abc">👍</tg-emoji>', "Invalid custom emoji identifier specified"),
        (
            "&#xD83D;",
            "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched "
            "surrogate code units",
        ),
    ],
)
def test_html_telegram_refuses_is_refused_with_its_reason(html: str, reason: str) -> None:
    with pytest.raises(HtmlError) as info:
        parse_html(html)
    assert info.value.reason == reason


def test_utf16_length_counts_code_units() -> None:
    assert [utf16_length(s) for s in ("", "abc", "жир", "😀", "👍🏽")] == [0, 3, 3, 2, 4]
