"""System texts in Russian and English from gettext catalogs (.po files compiled in memory by Babel).

Journey content is not translated here: a journey file is written in its own language.
"""

import gettext
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "ru"


class Translator:
    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self._translations = translations

    def __call__(self, message: str, /, **values: object) -> str:
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        return self._translations.ngettext(singular, plural, n).format(n=n, **values)


def _compile(po_file: Path) -> gettext.GNUTranslations:
    with po_file.open("rb") as source:
        catalog = read_po(source)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translations:
    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self._by_language: dict[str, Translator] = {
            "en": Translator("en", gettext.NullTranslations())  # msgids are English
        }
        for po_file in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            language = po_file.parent.parent.name
            self._by_language[language] = Translator(language, _compile(po_file))

    def get(self, language: str | None) -> Translator:
        return self._by_language.get(language or "", self._by_language[DEFAULT_LANGUAGE])

    @property
    def languages(self) -> list[str]:
        return sorted(self._by_language)
