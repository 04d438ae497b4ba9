"""The arithmetic of feedback reports: NPS with its promoter/passive/detractor split, averages, CSAT, and
averages by any key (stage, curator, cohort). Pure functions over lists of scores."""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from journeys.feedback_questions import PROMOTER_FROM, SCORES
from journeys.spec import RatingScale

K = TypeVar("K", bound=Hashable)
PASSIVE_FROM = 7  # NPS 7-8
SATISFIED_FROM = 4  # CSAT counts 4 and 5 of 5 as satisfied


@dataclass(frozen=True)
class NpsSplit:
    promoters: int  # 9-10
    passives: int  # 7-8
    detractors: int  # 0-6

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """Percent promoters minus percent detractors, -100 to 100, to one decimal; None without answers."""
        if not self.total:
            return None
        return round(100 * (self.promoters - self.detractors) / self.total, 1)


@dataclass(frozen=True)
class Average:
    count: int
    mean: float  # to two decimals


def _checked(scores: Iterable[int], scale: RatingScale) -> list[int]:
    listed = list(scores)
    wrong = [s for s in listed if s not in SCORES[scale]]
    if wrong:
        raise ValueError(f"scores outside the {scale.value} scale: {wrong[:5]}")
    return listed


def nps_split(scores: Iterable[int]) -> NpsSplit:
    listed = _checked(scores, RatingScale.NPS)
    promoters = sum(1 for s in listed if s >= PROMOTER_FROM)
    passives = sum(1 for s in listed if PASSIVE_FROM <= s < PROMOTER_FROM)
    return NpsSplit(promoters, passives, len(listed) - promoters - passives)


def average(scores: Iterable[int]) -> Average | None:
    listed = list(scores)
    return Average(len(listed), round(sum(listed) / len(listed), 2)) if listed else None


def csat(scores: Iterable[int]) -> float | None:
    """Percent of satisfied answers (4-5 of 5), to one decimal; None without answers."""
    listed = _checked(scores, RatingScale.FIVE)
    if not listed:
        return None
    return round(100 * sum(1 for s in listed if s >= SATISFIED_FROM) / len(listed), 1)


def averages_by(pairs: Iterable[tuple[K, int]]) -> dict[K, Average]:
    """(key, score) pairs to each key's average, keys in the order first seen."""
    grouped: dict[K, list[int]] = {}
    for key, score in pairs:
        grouped.setdefault(key, []).append(score)
    return {key: Average(len(scores), round(sum(scores) / len(scores), 2)) for key, scores in grouped.items()}
