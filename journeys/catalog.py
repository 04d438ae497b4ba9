"""The journeys one bot runs: a catalog, in the order the school lists them, the first one the default."""

from collections.abc import Iterator, Sequence

from journeys.decisions import CourseCard
from journeys.journey import Journey
from journeys.spec import Access, Offer


class Catalog:
    def __init__(self, journeys: Sequence[Journey]) -> None:
        if not journeys:
            raise ValueError("a catalog needs at least one journey")
        self._journeys = tuple(journeys)
        self._by_id = {journey.id: journey for journey in self._journeys}
        if len(self._by_id) != len(self._journeys):
            raise ValueError("two journeys of the catalog share an id")

    @classmethod
    def of(cls, *journeys: Journey) -> "Catalog":
        return cls(journeys)

    @property
    def default(self) -> Journey:
        """The journey a plain /start enrolls in when the catalog has only one to choose."""
        return self._journeys[0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def get(self, journey_id: str | None) -> Journey | None:
        return self._by_id.get(journey_id) if journey_id is not None else None

    def __getitem__(self, journey_id: str) -> Journey:
        return self._by_id[journey_id]

    def __contains__(self, journey_id: object) -> bool:
        return journey_id in self._by_id

    def __iter__(self) -> Iterator[Journey]:
        return iter(self._journeys)

    def __len__(self) -> int:
        return len(self._journeys)

    def open(self) -> tuple[Journey, ...]:
        """The journeys anyone may start by themselves (the others are granted by a purchase or the LMS)."""
        return tuple(j for j in self._journeys if j.spec.access is Access.OPEN)

    def offer(self, offer_id: str) -> tuple[Journey, Offer] | None:
        """The offer with this id and its journey (offer ids are unique across the catalog: payments name them)."""
        for journey in self._journeys:
            for offer in journey.spec.offers:
                if offer.id == offer_id:
                    return journey, offer
        return None

    def next_of(self, journey_id: str) -> Journey | None:
        """The next stage after this journey, if its file names one."""
        journey = self._by_id.get(journey_id)
        return self.get(journey.spec.next) if journey is not None else None


def card(journey: Journey) -> CourseCard:
    """A journey as a student sees it listed."""
    return CourseCard(journey.id, journey.title, journey.spec.summary, journey.spec.access is Access.OPEN)


def references(journey: Journey) -> Iterator[tuple[str, str]]:
    """(path, journey id) for every place a journey file names another journey of the catalog."""
    if journey.spec.next is not None:
        yield "next", journey.spec.next
    for r, rule in enumerate(journey.spec.routing.rules):
        if rule.not_a_fit is not None and rule.not_a_fit.journey is not None:
            yield f"routing.rules[{r}].not_a_fit.journey", rule.not_a_fit.journey
    for o, offer in enumerate(journey.spec.offers):
        if offer.grants is not None and offer.grants.journey is not None:
            yield f"offers[{o}].grants.journey", offer.grants.journey
