"""Small descriptive statistics used by the figures (no numpy; exact on short lists)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean, None for no values."""
    return math.fsum(values) / len(values) if values else None


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """Quantile by linear interpolation between order statistics (Hyndman-Fan type 7)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def median(values: Sequence[float]) -> float | None:
    """Median (the mean of the two middle values for an even count)."""
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def sample_sd(values: Sequence[float]) -> float | None:
    """Sample standard deviation (n - 1), None below two values."""
    if len(values) < 2:
        return None
    centre = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((x - centre) ** 2 for x in values) / (len(values) - 1))


@dataclass(frozen=True, slots=True)
class Distribution:
    """Five-number summary plus count, mean and total of a list of values."""

    n: int
    min: float | None
    p25: float | None
    median: float | None
    p75: float | None
    max: float | None
    mean: float | None
    total: float


def distribution(values: Sequence[float]) -> Distribution:
    """Summarise values; quartiles by linear interpolation."""
    ordered = sorted(values)
    return Distribution(
        n=len(ordered),
        min=ordered[0] if ordered else None,
        p25=quantile(ordered, 0.25),
        median=median(ordered),
        p75=quantile(ordered, 0.75),
        max=ordered[-1] if ordered else None,
        mean=mean(ordered),
        total=math.fsum(ordered),
    )


def score_histogram(scores: Sequence[float]) -> list[int]:
    """Counts in eleven bins: below 0, then [0, .1), [.1, .2) ... [.9, 1.0] (1.0 in the last)."""
    bins = [0] * 11
    for score in scores:
        if score < 0:
            bins[0] += 1
        else:
            # round() first so 0.7 lands in [.7, .8) despite 0.7 * 10 == 7.000000000000001.
            index = min(math.floor(round(score * 10, 9)), 9)
            bins[index + 1] += 1
    return bins


def rate(numerator: int, denominator: int) -> float | None:
    """A share, None (not 0) when there is nothing to divide by."""
    return numerator / denominator if denominator else None
