"""Numbers, temperatures and durations in a patient's message.

* **Numbers** in digits ("101.2", "38,5" with a decimal comma, "101.2F", "38.5°C") or in
  words of any supported language ("a hundred and one", "one oh one", "ninety nine
  point five", "treinta y ocho y medio", "ciento uno").
* **Temperatures**: a number followed by a temperature unit ("100.4 F", "38 grados"),
  near a temperature word ("temp is 101.2", "tengo 38 de fiebre"), or with a decimal
  part in a body-temperature range ("it was 100.3", "treinta y siete y medio"). Without a unit the
  value is read by range (25-45 -> °C, 77-113 -> °F, the plausible ranges every door
  uses); any other value is kept as *implausible*, and triage asks the patient to check
  it. Numbers below 10 and numbers followed by another unit ("2 pills", "3 days") are
  not temperatures.
* **Times**: fixed phrases of the language file ("since yesterday", "desde anoche") and
  a count with a time unit ("for four days", "desde hace 3 días", "a couple of weeks").
  "N days" means at least N and less than N+1 days, so "3 days" may be more than 72 h.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from needlewise.domain.facts import (
    PLAUSIBLE_TEMPERATURE,
    HoursWindow,
    TemperatureUnit,
    TextTemperature,
)
from needlewise.knowledge.schema.language import LanguageData

_DIGITS = re.compile(r"^(\d{1,3}(?:[.,]\d{1,2})?)(°|º)?([fc])?$")
#: a number with a decimal part in these ranges reads as a temperature even with no
#: temperature word near it ("it was 100.3 this morning", "treinta y siete y medio")
_BARE_DECIMAL = ((35.0, 42.5), (95.0, 108.5))
_CONTEXT_BEFORE = 6  #: words before a number in which a temperature word counts
_CONTEXT_AFTER = 3
_MIN_TEMPERATURE = 10.0


@dataclass(frozen=True)
class QuantityTables:
    """Number, temperature and time words merged over every supported language."""

    values: dict[str, int]
    hundreds: frozenset[str]
    join: frozenset[str]
    point: frozenset[str]
    article: frozenset[str]
    temperature_words: frozenset[str]
    celsius: frozenset[str]
    fahrenheit: frozenset[str]
    degrees: frozenset[str]
    not_units: frozenset[str]
    time_units: dict[str, float]
    counts: dict[str, tuple[int, int]]
    time_skip: frozenset[str]

    @classmethod
    def merge(cls, datas: Iterable[LanguageData]) -> QuantityTables:
        values: dict[str, int] = {}
        sets: dict[str, set[str]] = {
            k: set()
            for k in [
                "hundreds",
                "join",
                "point",
                "article",
                "temperature_words",
                "celsius",
                "fahrenheit",
                "degrees",
                "not_units",
                "time_skip",
            ]
        }
        units: dict[str, float] = {}
        counts: dict[str, tuple[int, int]] = {}
        for data in datas:
            values.update(data.numbers.values)
            sets["hundreds"] |= set(data.numbers.hundreds)
            sets["join"] |= set(data.numbers.join)
            sets["point"] |= set(data.numbers.point)
            sets["article"] |= set(data.numbers.article)
            sets["temperature_words"] |= set(data.temperature.words)
            sets["celsius"] |= set(data.temperature.celsius)
            sets["fahrenheit"] |= set(data.temperature.fahrenheit)
            sets["degrees"] |= set(data.temperature.degrees)
            sets["not_units"] |= set(data.temperature.not_units)
            sets["time_skip"] |= set(data.time.skip)
            units.update(data.time.units)
            counts.update(data.time.counts)
        frozen = {k: frozenset(v) for k, v in sets.items()}
        return cls(values=values, time_units=units, counts=counts, **frozen)


@dataclass(frozen=True)
class Number:
    """A number found at tokens ``start``..``end`` (exclusive)."""

    value: float
    start: int
    end: int
    unit: TemperatureUnit | None = None
    degree_sign: bool = False
    digits: bool = False


def read_number(norms: Sequence[str], i: int, t: QuantityTables) -> Number | None:
    """The number that starts at token ``i``, if any."""
    match = _DIGITS.match(norms[i])
    if match is not None:
        value = float(match.group(1).replace(",", "."))
        unit: TemperatureUnit | None = None
        if match.group(3) == "f":
            unit = "[degF]"
        elif match.group(3) == "c":
            unit = "Cel"
        return Number(value, i, i + 1, unit, match.group(2) is not None, digits=True)
    return _read_words(norms, i, t)


def _value(norms: Sequence[str], j: int, t: QuantityTables) -> int | None:
    return t.values.get(norms[j]) if j < len(norms) else None


def _read_words(norms: Sequence[str], i: int, t: QuantityTables) -> Number | None:
    n = len(norms)
    j = i
    total = 0
    hundred = False
    first = _value(norms, j, t)
    if norms[j] in t.article and j + 1 < n and norms[j + 1] in t.hundreds:
        total, j, hundred = 100, j + 2, True
    elif first is not None and 1 <= first <= 9 and j + 1 < n and norms[j + 1] in t.hundreds:
        total, j, hundred = first * 100, j + 2, True
    elif norms[j] in t.hundreds or first == 100:
        total, j, hundred = 100, j + 1, True
    if hundred and j < n and norms[j] in t.join and _value(norms, j + 1, t) is not None:
        j += 1
    start_rest = j
    v = _value(norms, j, t)
    if v is not None and v < 100:
        if v >= 20 and v % 10 == 0:
            total += v
            j += 1
            if j < n and norms[j] in t.join and (u := _value(norms, j + 1, t)) is not None:
                if 1 <= u <= 9:
                    total += u
                    j += 2
            elif (u := _value(norms, j, t)) is not None and 1 <= u <= 9:
                total += u
                j += 1
        else:
            total += v
            j += 1
            # "one oh one": digits read one by one
            if not hundred and v <= 9:
                digits = [v]
                while (d := _value(norms, j, t)) is not None and d <= 9 and len(digits) < 3:
                    digits.append(d)
                    j += 1
                if len(digits) > 1:
                    total = int("".join(str(d) for d in digits))
    if j == i or (j == start_rest and not hundred):
        return None
    value = float(total)
    # decimals: "point five", "punto cinco", "coma 5"
    if j + 1 < n and norms[j] in t.point:
        following = norms[j + 1]
        if following.isdigit() and len(following) <= 2:
            value += float("0." + following)
            j += 2
        elif (d := _value(norms, j + 1, t)) is not None and d <= 9:
            value += d / 10
            j += 2
    return Number(value, i, j)


def find_numbers(norms: Sequence[str], t: QuantityTables) -> list[Number]:
    """Every number in a message, left to right, without overlaps."""
    found: list[Number] = []
    i = 0
    while i < len(norms):
        number = read_number(norms, i, t)
        if number is None:
            i += 1
            continue
        found.append(number)
        i = number.end
    return found


def plausible_unit(value: float) -> TemperatureUnit | None:
    """The unit a unitless temperature is in, by range; ``None`` when implausible."""
    for unit in ("Cel", "[degF]"):
        low, high = PLAUSIBLE_TEMPERATURE[unit]
        if low <= value <= high:
            return unit
    return None


def temperature_at(
    number: Number,
    norms: Sequence[str],
    sentence_of: Sequence[int],
    half_ends: dict[int, int],
    t: QuantityTables,
) -> tuple[TextTemperature, int, int] | None:
    """Read ``number`` as a temperature; returns it with its token span, or ``None``."""
    value = number.value
    end = number.end
    if end in half_ends:  # "treinta y ocho y medio"
        value += 0.5
        end = half_ends[end]
    unit = number.unit
    degrees = number.degree_sign
    k = end
    while k < len(norms) and k < end + 3:
        word = norms[k]
        if word in t.degrees:
            degrees = True
        elif word in t.fahrenheit:
            unit = "[degF]"
        elif word in t.celsius:
            unit = "Cel"
        else:
            break
        k += 1
    has_unit = unit is not None or degrees
    if not has_unit:
        if k < len(norms) and (norms[k] in t.time_units or norms[k] in t.not_units):
            return None
        sentence = sentence_of[number.start]
        window = range(max(0, number.start - _CONTEXT_BEFORE), min(len(norms), k + _CONTEXT_AFTER))
        near = [w for w in window if sentence_of[w] == sentence and norms[w] in t.temperature_words]
        bare = value != int(value) and any(lo <= value <= hi for lo, hi in _BARE_DECIMAL)
        if not near and not bare:
            return None
        start = min(min(near), number.start) if near else number.start
    else:
        start = number.start
    if value < _MIN_TEMPERATURE and not has_unit:
        return None
    if unit is not None:
        low, high = PLAUSIBLE_TEMPERATURE[unit]
        source = "written"
        if not low <= value <= high:
            unit, source = None, "none"
    else:
        unit = plausible_unit(value)
        source = "inferred" if unit is not None else "none"
    return TextTemperature(value, unit, source, ""), start, k  # type: ignore[arg-type]


def time_from_count(
    norms: Sequence[str], i: int, numbers: dict[int, Number], t: QuantityTables
) -> tuple[HoursWindow, int] | None:
    """A count and a time unit starting at token ``i`` ("four days", "a couple of weeks")."""
    n = len(norms)
    if i in numbers:
        number = numbers[i]
        if number.unit is not None or number.degree_sign:
            return None
        low_count = high_count = number.value
        j = number.end
    elif norms[i] in t.counts:
        low, high = t.counts[norms[i]]
        low_count, high_count = float(low), float(high)
        j = i + 1
        # "a couple of days": the article is part of the count
        if j < n and norms[j] in t.counts and norms[i] in t.article:
            low, high = t.counts[norms[j]]
            low_count, high_count = float(low), float(high)
            j += 1
    else:
        return None
    while j < n and norms[j] in t.time_skip:
        j += 1
    if j >= n or norms[j] not in t.time_units:
        return None
    unit = t.time_units[norms[j]]
    return HoursWindow(low_count * unit, (high_count + 1) * unit), j + 1
