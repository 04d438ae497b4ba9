"""System texts: everything the code shows through the translator has a Russian translation with the
same placeholders, and a student's language picks English or falls back to Russian."""

from string import Formatter

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, Translations
from bot.render import Composer, notice_msgid, notice_text
from bot.settings import ROOT
from journeys.decisions import TextRejected
from journeys.journey import TextProblem
from journeys.notices import NoticeKey
from journeys.spec import Question, QuestionKind

RU_PO = LOCALES_DIR / "ru" / "LC_MESSAGES" / "messages.po"


def used_messages() -> dict[str, str]:
    """msgid → where the code uses it, as babel extracts them for the catalog."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")], keywords={"t": None, "N_": None}
    ):
        singular = message[0] if isinstance(message, tuple) else message
        found.setdefault(singular, f"bot/{filename}:{lineno}")
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with RU_PO.open("rb") as source:
        return read_po(source)


USED = used_messages()


def test_the_extractor_finds_the_texts() -> None:
    # guards the extraction itself: if the keywords stopped matching, every check below would pass empty
    assert "Step {n} of {total}" in USED
    assert "Already counted ✓" in USED  # marked with N_ and translated later
    assert len(USED) >= 20


@pytest.mark.parametrize("msgid", sorted(USED))
def test_every_used_text_has_a_russian_translation(catalog: Catalog, msgid: str) -> None:
    message = catalog.get(msgid)
    assert message is not None, f"{USED[msgid]}: {msgid!r} is missing from {RU_PO.name}"
    assert message.string, f"{USED[msgid]}: {msgid!r} has an empty translation"
    assert not message.fuzzy, f"{USED[msgid]}: {msgid!r} is marked fuzzy"


@pytest.mark.parametrize("msgid", sorted(m for m in USED if placeholders(m)))
def test_translation_keeps_the_placeholders(catalog: Catalog, msgid: str) -> None:
    message = catalog.get(msgid)
    assert message is not None and message.string
    translations = message.string if isinstance(message.string, tuple) else (message.string,)
    for translation in translations:
        assert placeholders(translation) == placeholders(msgid), translation


def test_every_translation_in_the_catalog_keeps_its_placeholders(catalog: Catalog) -> None:
    broken = [
        message.id
        for message in catalog
        if message.id and message.string and placeholders(message.string) != placeholders(message.id)
    ]
    assert broken == []


def test_english_is_the_msgid_itself() -> None:
    t = Translations().get("en")
    assert t.language == "en"
    assert t("Counted ✓") == "Counted ✓"
    assert t("Step {n} of {total}", n=3, total=8) == "Step 3 of 8"


@pytest.mark.parametrize("language", ["ru", "de", None, ""])
def test_russian_for_russian_and_as_the_fallback(language: str | None) -> None:
    t = Translations().get(language)
    assert t.language == "ru"
    assert t("Counted ✓") == "Засчитано ✓"
    assert t("Step {n} of {total}", n=3, total=8) == "Шаг 3 из 8"


def test_both_languages_are_available() -> None:
    assert Translations().languages == ["en", "ru"]


@pytest.mark.parametrize("key", list(NoticeKey))
def test_every_notice_key_has_a_text_in_both_languages(key: NoticeKey) -> None:
    # mypy checks notice_msgid is exhaustive; this checks the text it gives is a catalogued, translated one
    msgid = notice_msgid(key)
    assert msgid in USED
    assert notice_text(key, Translations().get("en")) == msgid
    assert notice_text(key, Translations().get("ru")) not in ("", msgid)


@pytest.mark.parametrize("problem", list(TextProblem))
def test_every_text_problem_has_its_own_explanation(problem: TextProblem) -> None:
    question = Question(id="goal", text="Your goal?", input=QuestionKind.TEXT)
    composer = Composer(Translations().get("en"))
    shown = {p: composer.compose([TextRejected(question, p, 3)])[0].params["text"] for p in TextProblem}
    assert len(set(shown.values())) == len(TextProblem)
    assert shown[problem]
