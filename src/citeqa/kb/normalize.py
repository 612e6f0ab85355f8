"""Values as data: ISO dates, amounts with their currency or unit, percents as numbers.

Dates go through ``dateparser`` (relative ones -- "yesterday", "last year" -- only against
the document's own date, and only to the precision the text gives: "March 2022" is
"2022-03", "2018" is "2018"); money through ``price-parser`` for the number and the
currency sign or word; the scale words ("83 million") multiply. A value neither can read
keeps its text and has no normal form.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
DATE_ANCHOR = re.compile(rf"\b(?:{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|"
                     rf"sunday|christmas)\b|\b\d{{4}}s?\b|\b\d{{2}}s\b", re.I)
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20,
          "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
          "ninety": 90, "hundred": 100, "half": 0.5}
# ISO 4217 codes for the currency words and signs price-parser hands back as written.
_CURRENCIES = {"$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD",
               "us dollars": "USD", "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
               "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "¥": "JPY",
               "yen": "JPY", "yuan": "CNY", "rmb": "CNY", "ruble": "RUB", "rubles": "RUB",
               "roubles": "RUB", "rub": "RUB", "tenge": "KZT", "som": "KGS", "shs": "KES",
               "ksh": "KES", "shillings": "KES"}
_UNIT = re.compile(r"[\d.,]+\s*(?:thousand|million|billion|trillion)?\s*(?:-\s*)?"
                   r"([A-Za-z][A-Za-z ]{0,20}?)\s*$", re.I)
_NUMBERS = re.compile(r"\d[\d,.]*")
_CURRENCY_AFTER = re.compile(
    r"\s+(?:" + "|".join(sorted((re.escape(w) for w in _CURRENCIES if w.isalpha() or " " in w),
                                key=len, reverse=True)) + r")\b", re.I)
_YEARS = re.compile(r"^\D{0,12}(\d{4})\s*(?:-|\u2013|to|and)\s*(\d{4})\D{0,3}$")
_DECADE = re.compile(r"\b(\d{3})0s\b")


@dataclass(frozen=True)
class Normalized:
    """``kind`` is date, money, percent, quantity or number; ``date`` an ISO 8601 date at
    the precision stated (YYYY, YYYY-MM or YYYY-MM-DD); ``amount`` with ``unit`` (ISO 4217
    for money, "%" for percents, the written unit for quantities)."""

    kind: str
    date: str | None = None
    amount: float | None = None
    unit: str | None = None


@functools.lru_cache(maxsize=4096)
def normalize(text: str, label: str, document_date: str | None) -> Normalized | None:
    """The normal form of one value, or None when no parser can read it (memoized: a
    sheet is rebuilt for every question that shows it)."""
    if label in ("DATE",):
        return _date(text, document_date)
    if label == "PERCENT":
        amount = _amount(text)
        return Normalized("percent", amount=amount, unit="%") if amount is not None else None
    if label == "MONEY":
        return _money(text)
    if label in ("QUANTITY", "CARDINAL"):
        amount = _amount(text)
        if amount is None:
            return None
        unit = _UNIT.search(text) if label == "QUANTITY" else None
        return Normalized("quantity" if unit else "number", amount=amount,
                          unit=unit.group(1).strip() if unit else None)
    return None


# An amount's text ends in a digit or a scale word ("83 million").
_AMOUNT_END = re.compile(r"(?:\d|" + "|".join(_SCALES) + r")$", re.I)


def amount_end(text: str, start: int, end: int) -> int:
    """Where the amount ``text[start:end]`` ends with the currency word written after it
    ("83 million| euros"); ``end`` for a span that is not an amount."""
    return currency_after(text, end) if _AMOUNT_END.search(text[start:end]) else end


def currency_after(text: str, end: int) -> int:
    """Where a currency word written after an amount ends ("83 million| euros"), else
    ``end``: spaCy often leaves it out of the MONEY or CARDINAL span."""
    match = _CURRENCY_AFTER.match(text, end)
    return match.end() if match else end


def resolvable(text: str, document_date: str | None) -> bool:
    """Whether a date without a year or month in it can be pinned to a day, month or year."""
    return _date(text, document_date) is not None


def warm() -> None:
    """Load the date parser now (about 0.4 s), so that the first fact sheet a server
    builds does not pay for it."""
    _parser(None)


@functools.lru_cache(maxsize=8)
def _parser(base: str | None):
    from dateparser.date import DateDataParser

    settings = {"PREFER_DATES_FROM": "past", "RETURN_TIME_AS_PERIOD": False}
    if base:
        settings["RELATIVE_BASE"] = dt.datetime.fromisoformat(base[:10])
    return DateDataParser(languages=["en"], settings=settings)


def _date(text: str, document_date: str | None) -> Normalized | None:
    years = _YEARS.match(text)
    if years:  # "2021 to 2027", "between 2001 and 2003": an ISO 8601 interval
        return Normalized("date", date=f"{years.group(1)}/{years.group(2)}")
    decade = _DECADE.search(text)
    if decade:
        return Normalized("date", date=f"{decade.group(1)}0s")
    anchored = bool(DATE_ANCHOR.search(text))
    year = re.search(r"\b\d{4}\b", text)
    if not document_date and not year:
        return None  # "March 17th" or "this year" in an undated document: no year to give
    if not anchored and not document_date:
        return None
    cleaned = re.sub(r"(?i)\b(?:the|early|mid|late|end of|beginning of|about|around|"
                     r"since|until|by|of)\b|-", " ", text)
    if not anchored:
        cleaned = text
    try:
        data = _parser(document_date).get_date_data(" ".join(cleaned.split()))
    except (ValueError, OverflowError):
        return None
    if data.date_obj is None:
        return None
    when = data.date_obj
    if year and str(when.year) != year.group(0):
        return None  # "2021 to 2027", "between 2001 and 2003": a range, not one date
    period = data.period or "day"
    iso = {"year": f"{when.year:04d}", "month": f"{when.year:04d}-{when.month:02d}"}.get(
        period, when.date().isoformat())
    return Normalized("date", date=iso)


def _amount(text: str) -> float | None:
    """'about 58.41 million' -> 58410000.0; 'Sixty percent' -> 60.0; 'two' -> 2.0."""
    from price_parser import Price

    lowered = text.lower()
    if len(_NUMBERS.findall(text)) > 1:
        return None  # a score ("24-10") or a range ("US$44 million to US$270 million")
    price = Price.fromstring(text.replace("%", " "), decimal_separator=".")
    amount = float(price.amount) if price.amount is not None else None
    if amount is None:
        words = [w for w in re.findall(r"[a-z]+", lowered) if w in _WORDS]
        if not words:
            return None
        amount = float(sum(_WORDS[w] for w in words if _WORDS[w] < 100) or 1)
        if "hundred" in words:
            amount *= 100
    for word, factor in _SCALES.items():
        if re.search(rf"\b{word}\b", lowered):
            amount *= factor
            break
    return amount


def _money(text: str) -> Normalized | None:
    from price_parser import Price

    amount = _amount(text)
    if amount is None:
        return None
    currency = Price.fromstring(text).currency
    code = _CURRENCIES.get((currency or "").lower().strip())
    if code is None:
        for word in sorted(_CURRENCIES, key=len, reverse=True):
            if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text.lower()):
                code = _CURRENCIES[word]
                break
    return Normalized("money", amount=amount, unit=code)
