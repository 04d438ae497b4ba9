"""A catalog of journeys read from files and folders: every journey checked, then the catalog across files."""

from pathlib import Path

import pytest
import yaml

from bot.settings import DEFAULT_CATALOG, SHIPPED_JOURNEYS, Settings
from journeys.catalog import Catalog
from journeys.loader import JourneyError, load_catalog, load_journey, parse_journey
from journeys.spec import NotAFit

EXAMPLE = SHIPPED_JOURNEYS / "example.en.yaml"
STORE = SHIPPED_JOURNEYS / "online_store.ru.yaml"
GROWTH = SHIPPED_JOURNEYS / "online_store_growth.ru.yaml"


def write(folder: Path, name: str, **changes: object) -> Path:
    document = yaml.safe_load(EXAMPLE.read_text())
    document.update(changes)
    path = folder / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def problems(paths: list[Path]) -> list[str]:
    with pytest.raises(JourneyError) as caught:
        load_catalog(paths)
    return [str(issue) for issue in caught.value.issues]


def test_a_folder_is_every_journey_file_in_it_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", id="second")
    write(tmp_path, "a.yml", id="first")
    (tmp_path / "notes.txt").write_text("not a journey")
    catalog = load_catalog([tmp_path])
    assert catalog.ids == ("first", "second")
    assert catalog.default.id == "first"


def test_the_shipped_catalog_is_the_course_and_its_paid_next_stage() -> None:
    catalog = load_catalog(DEFAULT_CATALOG)
    assert catalog.ids == ("online-store", "online-store-growth")
    assert catalog.next_of("online-store") is catalog["online-store-growth"]
    assert [journey.id for journey in catalog.open()] == ["online-store"]  # the next stage comes with a purchase


def test_settings_choose_the_catalog(tmp_path: Path) -> None:
    one, two = write(tmp_path, "one.yaml", id="one"), write(tmp_path, "two.yaml", id="two")
    assert Settings(_env_file=None).catalog_paths == DEFAULT_CATALOG
    assert Settings(_env_file=None, journey_file=one).catalog_paths == (one,)
    both = Settings(_env_file=None, journeys=f"{one}, {two}", journey_file=one)  # type: ignore[arg-type]
    assert both.catalog_paths == (one, two)  # JOURNEYS wins


def test_problems_in_several_files_and_across_them_are_reported_together(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", id="same", next="nowhere")
    second = write(tmp_path, "b.yaml", id="same")
    broken = write(tmp_path, "c.yaml", id="Bad Id")
    assert problems([tmp_path]) == [
        f"{broken}:id:String should match pattern '^[a-z0-9][a-z0-9_-]{{0,39}}$'",
        f"{second}:id:journey id 'same' is also the id of {first}",
        f"{first}:next:unknown journey 'nowhere': it is not in the catalog",
    ]


def test_a_file_whose_next_stage_is_not_in_the_catalog_is_refused() -> None:
    assert problems([STORE]) == [
        f"{STORE}:next:unknown journey 'online-store-growth': it is not in the catalog",
        f"{STORE}:routing.rules[0].not_a_fit.journey:unknown journey 'online-store-growth': it is not in the catalog",
        f"{STORE}:offers[1].grants.journey:unknown journey 'online-store-growth': it is not in the catalog",
    ]


def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    assert problems([tmp_path]) == [f"{tmp_path}:(folder):no journey files (*.yaml) in it"]


def test_a_routing_rule_leads_to_a_track_or_to_not_a_fit_never_both() -> None:
    document = yaml.safe_load(EXAMPLE.read_text())
    verdict = {"text": "Not for you", "consultation": True}
    document["routing"]["rules"] = [
        {"track": "advanced", "not_a_fit": verdict, "when": {"experience": ["pro"]}},
        {"when": {"experience": ["none"]}},
        {"not_a_fit": {"text": "Not for you", "journey": document["id"]}, "when": {"experience": ["some"]}},
    ]
    with pytest.raises(JourneyError) as caught:
        parse_journey(yaml.safe_dump(document), "j.yaml")
    assert [str(issue) for issue in caught.value.issues] == [
        "j.yaml:routing.rules[0]:give exactly one of track, not_a_fit",
        "j.yaml:routing.rules[1]:give exactly one of track, not_a_fit",
        "j.yaml:routing.rules[2].not_a_fit.journey:a journey cannot be offered instead of itself",
    ]


def test_the_fit_check_routes_a_shop_owner_who_wants_growth_to_the_next_stage() -> None:
    store = load_journey(STORE)
    verdict = store.route({"experience": "own_shop", "level": "confident", "goal": "grow_sales"})
    assert isinstance(verdict, NotAFit)
    assert (verdict.journey, verdict.consultation) == ("online-store-growth", True)
    assert store.route({"experience": "own_shop", "level": "confident", "goal": "first_shop"}) == "advanced"


def test_a_catalog_refuses_two_journeys_with_one_id() -> None:
    journey = load_journey(EXAMPLE)
    with pytest.raises(ValueError, match="share an id"):
        Catalog.of(journey, journey)


def test_the_fit_check_decides_as_soon_as_the_rules_before_it_cannot_change() -> None:
    store = load_journey(STORE)
    assert store.early_verdict({"experience": "own_shop"}) is None  # the goal is not asked yet
    verdict = store.early_verdict({"experience": "own_shop", "level": "basic", "goal": "grow_sales"})
    assert isinstance(verdict, NotAFit)
    document = yaml.safe_load(STORE.read_text())
    document["routing"]["rules"].reverse()  # a track rule first, still waiting for its level answer
    reordered = parse_journey(yaml.safe_dump(document, allow_unicode=True), "store.yaml")
    assert reordered.early_verdict({"experience": "own_shop", "goal": "grow_sales"}) is None
    assert reordered.early_verdict({"experience": "own_shop", "goal": "grow_sales", "level": "beginner"}) == verdict
