"""The pages' languages: English source strings, translated by gettext catalogs (fulfil/web/locale/<lang>/LC_MESSAGES/
messages.po, read with Babel at start-up: no compile step), chosen by the `lang` cookie (the page's switch), else
the browser's Accept-Language, else English. Dates and times are formatted per language by Babel."""

from __future__ import annotations

import gettext
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime, format_time
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "web" / "locale"
LANGUAGES = ("en", "fr")
DEFAULT = "en"
LANG_COOKIE = "fulfil_lang"


class _Catalog(gettext.NullTranslations):
    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__()
        self._messages = messages

    def gettext(self, message: str) -> str:
        return self._messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of a language (English: the source strings themselves)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    return _Catalog({str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy})


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The page's language: the switch's cookie, else the first supported language the browser asks for."""
    if cookie in LANGUAGES:
        return str(cookie)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag[:2] in LANGUAGES:
            return tag[:2]
    return DEFAULT


def when(moment: datetime | None, lang: str, zone: str, now: datetime | None = None) -> tuple[str, str]:
    """A due time as staff read it, in the store's zone: ("today" | "tomorrow", the time) or ("", a short date and
    time); ("", "") for none."""
    if moment is None:
        return "", ""
    tz = _zone(zone)
    local, today = moment.astimezone(tz), (now or datetime.now(tz)).astimezone(tz).date()
    if local.date() == today:
        return "today", format_time(local, "short", locale=lang)
    if (local.date() - today).days == 1:
        return "tomorrow", format_time(local, "short", locale=lang)
    return "", format_datetime(local, "short", locale=lang)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
