"""Rates per 100 treatments with 95% confidence intervals (pure: no I/O).

A clinic's safety record asks "in how many of our treatments did something happen?"
Each rate here is a proportion: treatments with at least one event, out of all
treatments, shown per 100 treatments, with a 95% interval by the **Wilson score method**
(Wilson EB. J Am Stat Assoc 1927;22:209-212; recommended over the simple "Wald"
interval by Newcombe RG. Stat Med 1998;17:857-872 and Brown, Cai & DasGupta. Stat Sci
2001;16:101-133).

Why Wilson and not the textbook ``p ± 1.96·√(p(1-p)/n)``:

* at **0 events** the Wald interval collapses to 0-0, as if a clinic with no serious
  event in 300 treatments had proved the risk is zero; Wilson gives 0 to
  ``z²/(n+z²)`` (0 to 1.3 per 100 for n = 300), an honest upper bound. Brady 2014's
  "0 of 7,629 treatments" is exactly this case;
* it never leaves 0-100, and it keeps close to its nominal 95% coverage for the small
  counts and rare events a single clinic has.

The interval says how much the rate could move by chance alone. A clinic's numbers are
small, so its intervals are wide: two clinics, or a clinic and a published survey,
whose intervals overlap are not shown to differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: the standard normal quantile of a two-sided 95% interval (Φ⁻¹(0.975))
Z95 = 1.959963984540054
#: rates are shown per this many treatments
PER = 100


def wilson_interval(count: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of the proportion ``count / total`` (both bounds as
    proportions, 0 to 1). ``total`` must be positive and ``count`` between 0 and it.

    At ``count == 0`` the lower bound is exactly 0 and the upper ``z²/(total+z²)``; at
    ``count == total`` the upper bound is exactly 1."""
    if total <= 0:
        raise ValueError("a proportion needs at least one treatment")
    if not 0 <= count <= total:
        raise ValueError("the count must be between 0 and the number of treatments")
    p = count / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denominator
    low = 0.0 if count == 0 else max(0.0, centre - half)
    high = 1.0 if count == total else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Rate:
    """``count`` of ``total`` treatments, per 100 treatments with its 95% interval.

    With no treatments (``total == 0``) there is no rate: ``per_100``, ``low`` and
    ``high`` are ``None`` (never a division by zero)."""

    count: int
    total: int
    per_100: float | None
    low: float | None
    high: float | None

    @property
    def known(self) -> bool:
        return self.per_100 is not None


def rate(count: int, total: int) -> Rate:
    """``count`` of ``total`` as a :class:`Rate` per 100 (``None`` figures when
    ``total`` is 0). A count above the total is capped at the total: callers pass
    treatments with an event, which cannot outnumber the treatments, but a published
    count of *events* can (one treatment may have several), see :func:`events_rate`."""
    if total < 0 or count < 0:
        raise ValueError("counts are never negative")
    if total == 0:
        return Rate(count, 0, None, None, None)
    low, high = wilson_interval(min(count, total), total)
    return Rate(count, total, PER * count / total, PER * low, PER * high)


def events_rate(events: int, total: int) -> Rate:
    """A published count of *events* per 100 treatments, its interval computed as if
    each event were in a different treatment (the surveys count events, and one
    treatment can have more than one; with 1,463 events in 7,629 treatments the
    approximation moves the interval little). The rate is the events' own rate."""
    if total == 0:
        return Rate(events, 0, None, None, None)
    low, high = wilson_interval(min(events, total), total)
    return Rate(events, total, PER * events / total, PER * low, PER * high)
