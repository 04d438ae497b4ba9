"""The Telegram HTML checker: what Telegram's parse_mode HTML accepts passes with the text the reader sees, what it
refuses (or would silently strip) is an HtmlError at the offending character. Pure: no Telegram involved."""

import pytest

from journeys.telegram_html import HtmlError, plain_text


@pytest.mark.parametrize(
    ("html", "shown"),
    [
        ("plain text", "plain text"),
        ("<b>bold</b> <strong>bold</strong> <i>i</i> <em>i</em>", "bold bold i i"),
        ("<u>u</u><ins>u</ins><s>s</s><strike>s</strike><del>s</del>", "uusss"),
        ('<span class="tg-spoiler">secret</span> <tg-spoiler>secret</tg-spoiler>', "secret secret"),
        ('<a href="https://example.com/?a=1&amp;b=2">link</a>', "link"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("<code>x &lt; y</code>", "x < y"),
        ('<pre><code class="language-python">print("hi")</code></pre>', 'print("hi")'),
        ("<blockquote>quote</blockquote><blockquote expandable>long</blockquote>", "quotelong"),
        ("<b>bold <i>italic <s>struck <tg-spoiler>all</tg-spoiler></s></i></b>", "bold italic struck all"),
        ("<b><code>bold code</code></b>", "bold code"),
        ("<B>upper case tags</B>", "upper case tags"),
        ("1 &lt; 2 &gt; 0 &amp; &quot;q&quot;", '1 < 2 > 0 & "q"'),
        ("&#128512; &#x1F600; &#X1f600;", "😀 😀 😀"),
        ("{name}, hello", "{name}, hello"),  # journey texts are sent as written: braces are plain text
        ("<b >spaced</b >", "spaced"),
        # what Telegram shows as written although the documentation asks to escape it
        ("Q&A: fish & chips", "Q&A: fish & chips"),
        ("&nbsp;", "&nbsp;"),
        ("a > b", "a > b"),
    ],
)
def test_text_telegram_accepts_shows_as(html: str, shown: str) -> None:
    assert plain_text(html) == shown


@pytest.mark.parametrize(
    ("html", "problem", "at"),
    [
        ("I <3 this", '"<" starts no tag: write it as &lt;', 2),
        ("a < b", '"<" starts no tag', 2),
        ("<b>unclosed", "<b> is never closed", 0),
        ("&#0;", "&#0; is not a character", 0),
        ("&#xD800;", "is not a character", 0),
        ("&#99999999;", "is not a character", 0),
        ("<p>paragraph</p>", "Telegram does not support the tag <p>", 0),
        ("line<br/>break", "Telegram does not support the tag <br>", 4),
        ("<!-- note -->", '"<" starts no tag', 0),
        ("<b>x</i>", "</i> found where </b> was expected", 4),
        ("<b><i>x</b></i>", "</b> found where </i> was expected", 7),
        ("x</b>", "</b> closes nothing", 1),
        ("<b", "the tag <b> is not closed with >", 0),
        ("</b", "a broken end tag", 0),
        ("<span>x</span>", '<span> needs a class="..." attribute', 0),
        ('<span class="red">x</span>', '<span> is only for spoilers: write <span class="tg-spoiler">', 0),
        ("<a>link</a>", '<a> needs a href="..." attribute', 0),
        ('<a href="">link</a>', '<a> needs a href="..." attribute', 0),
        ("<tg-emoji>👍</tg-emoji>", '<tg-emoji> needs a emoji-id="..." attribute', 0),
        ('<tg-emoji emoji-id="smile">👍</tg-emoji>', "<tg-emoji> needs a numeric emoji-id", 0),
        ("<code><b>x</b></code>", "<b> cannot be inside <code>", 6),
        ("<pre><b>x</b></pre>", "<b> cannot be inside <pre>", 5),
        ("<pre><code><i>x</i></code></pre>", "<i> cannot be inside <pre>", 11),
        ('<a href="https://a.example"><a href="https://b.example">x</a></a>', "a link cannot be inside another", 28),
        ("<blockquote><b><blockquote>x</blockquote></b></blockquote>", "a blockquote cannot be inside another", 15),
    ],
)
def test_text_telegram_refuses_names_the_problem_and_place(html: str, problem: str, at: int) -> None:
    with pytest.raises(HtmlError) as caught:
        plain_text(html)
    assert problem in str(caught.value)
    assert caught.value.at == at
    assert str(caught.value).endswith(f"(at character {at + 1})")


def test_problem_is_one_line_whatever_the_text() -> None:
    with pytest.raises(HtmlError) as caught:
        plain_text("first line\n<p>\nthird")
    assert "\n" not in str(caught.value)
