"""Every message render.py builds from a valid journey (tricky HTML, every text at its maximum, both languages) is
accepted by the stand-in's own HTML parser and limits: a second opinion, independent of journeys.telegram_html."""

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from bot.standin.html import utf16_length
from bot.standin.server import ApiError, formatted
from journeys.loader import parse_journey
from tests.test_journey_texts_as_sent import TRANSLATIONS, longest, messages, tricky


@pytest.mark.parametrize("language", TRANSLATIONS.languages)
@pytest.mark.parametrize("make", [tricky, longest])
def test_every_rendered_message_passes_the_standins_html_parser(
    make: Callable[[], dict[str, Any]], language: str
) -> None:
    journey = parse_journey(yaml.safe_dump(make(), allow_unicode=True, sort_keys=False), "edge.yaml")
    refused = []
    for out in messages(journey, language):
        key, limit = ("text", 4096) if "text" in out.params else ("caption", 1024)
        try:
            plain, _ = formatted(out.params[key], "HTML", None)
        except ApiError as e:
            refused.append((e.description, out.params[key][:120]))
            continue
        if not 0 < utf16_length(plain.strip()) <= limit:
            refused.append((f"{utf16_length(plain)} UTF-16 code units", out.params[key][:120]))
    assert refused == []
