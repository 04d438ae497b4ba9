"""Reads journey YAML files into a Journey, with errors that name file, path and problem, one line each."""

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from journeys.catalog import Catalog, references
from journeys.issue_paths import format_path, path_part
from journeys.journey import Journey
from journeys.offer_checks import checkin_issues, offer_issues
from journeys.question_checks import question_issues
from journeys.spec import FORMAT_VERSION, JourneySpec, Offer, Question

MAX_FILE_BYTES = 500_000  # a long course is a few dozen kB; PyYAML reads ~100 kB/s; this also stops /dev/zero
MAX_DEPTH = 20  # a journey nests about 7 levels; deeper input is a mistake (and would exhaust the stack)
# str.splitlines() breaks at each of these: an issue must stay on its line
_LINE_BREAKS = str.maketrans({c: repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})


@dataclass(frozen=True)
class JourneyIssue:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return ":".join(part.translate(_LINE_BREAKS) for part in (self.file, self.path, self.message))


class JourneyError(Exception):
    def __init__(self, issues: list[JourneyIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(map(str, issues)))


class _JourneyLoader(yaml.SafeLoader):
    """SafeLoader that refuses what PyYAML would accept silently or crash on: equal keys (it keeps the last),
    keys that are not text, nesting deep enough to exhaust the stack, values Python cannot build."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # 2024-13-45, an int of 5000 digits
            reason = str(exc).split(";")[0]  # not Python's advice to raise its int limit
            raise self._error(f"cannot read this value: {reason}", node) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):  # `? [a, b]`, or an alias of a list used as a key
                raise self._error(
                    "a list or mapping used as a key (here or by an alias): a key must be plain text", key_node
                )
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):  # yes, ~, 2024: YAML reads them as a boolean, null, number
                raise self._error(f"a key must be text: put {key_node.value} in quotes", key_node)
            if key in seen:
                raise self._error(f"duplicate key {key!r}", key_node)
            seen.add(key)
        return super().construct_mapping(node, deep)

    @staticmethod
    def _error(problem: str, node: yaml.Node) -> yaml.constructor.ConstructorError:
        return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


def load_journey(file: str | Path) -> Journey:
    name = str(file)
    try:
        with Path(file).open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            problem = f"larger than {MAX_FILE_BYTES // 1000} kB: is this really a journey file?"
            raise JourneyError([JourneyIssue(name, "(file)", problem)])
        text = data.decode("utf-8")
    except OSError as exc:
        raise JourneyError([JourneyIssue(name, "(file)", exc.strerror or str(exc))]) from None
    except UnicodeDecodeError as exc:
        raise JourneyError([JourneyIssue(name, "(file)", f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_journey(text, name)


def parse_journey(text: str, name: str = "<journey>") -> Journey:
    try:
        document = yaml.load(text, Loader=_JourneyLoader)
    except yaml.YAMLError as exc:
        raise JourneyError([JourneyIssue(name, *_yaml_problem(exc, text))]) from None
    if not isinstance(document, dict):
        raise JourneyError([JourneyIssue(name, "(document)", "a journey must be a mapping of keys")])
    if type(document.get("format")) is not int or document["format"] != FORMAT_VERSION:  # not true, not 1.0
        raise JourneyError([JourneyIssue(name, "format", f"unsupported format {document.get('format')!r}, expected 1")])
    try:
        spec = JourneySpec.model_validate(document)
    except ValidationError as exc:
        raise JourneyError([JourneyIssue(name, format_path(e["loc"]), _message(e)) for e in exc.errors()]) from None
    issues = [JourneyIssue(name, path, message) for path, message in check_references(spec)]
    if issues:
        raise JourneyError(issues)
    return Journey(spec)


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[str, str]:
    if isinstance(exc, yaml.reader.ReaderError):  # a control character: it knows the position, not the line
        line = text.count("\n", 0, exc.position)
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1)
        return f"line {line + 1}, column {column + 1}", f"invalid YAML: character #x{exc.character:04x}: {exc.reason}"
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
    return where, f"invalid YAML: {getattr(exc, 'problem', None) or exc}"


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"invalid key: {message}" if error["loc"][-1:] == ("[key]",) else message


def _duplicates(values: list[str]) -> set[str]:
    return {value for value, count in Counter(values).items() if count > 1}


def check_references(spec: JourneySpec) -> Iterator[tuple[str, str]]:
    questions: dict[str, Question] = {}
    for i, question in enumerate(spec.survey.questions):
        at = f"survey.questions[{i}]"
        if question.id in questions:
            yield f"{at}.id", f"duplicate question id {question.id!r}"
        questions.setdefault(question.id, question)
        yield from question_issues(question, at)

    all_steps = [
        (s, f"stages[{si}].steps[{i}]") for si, stage in enumerate(spec.stages) for i, s in enumerate(stage.steps)
    ]
    step_ids = {step.id for step, _ in all_steps}
    seen: set[str] = set()
    for step, at in all_steps:
        if step.id in seen:
            yield f"{at}.id", f"duplicate step id {step.id!r}"
        seen.add(step.id)
    for dup in _duplicates([stage.id for stage in spec.stages]):
        yield "stages", f"duplicate stage id {dup!r}"

    for track_id, track in spec.tracks.items():
        listed: set[str] = set()
        for i, step_id in enumerate(track.steps):
            if step_id not in step_ids:
                yield f"tracks.{track_id}.steps[{i}]", f"unknown step {step_id!r}"
            elif step_id in listed:
                yield f"tracks.{track_id}.steps[{i}]", f"step {step_id!r} appears twice in the track"
            listed.add(step_id)

    for r, rule in enumerate(spec.routing.rules):
        at = f"routing.rules[{r}]"
        if (rule.track is None) == (rule.not_a_fit is None):
            yield at, "give exactly one of track, not_a_fit"
        elif rule.track is not None and rule.track not in spec.tracks:
            yield f"{at}.track", f"unknown track {rule.track!r}"
        if rule.not_a_fit is not None and rule.not_a_fit.journey == spec.id:
            yield f"{at}.not_a_fit.journey", "a journey cannot be offered instead of itself"
        for question_id, accepted in rule.when.items():
            asked, where = questions.get(question_id), f"{at}.when.{path_part(question_id)}"
            if asked is None:
                yield where, f"unknown question {question_id!r}"
            elif not asked.is_choice:
                yield where, "routing can only use choice questions"
            else:
                for a, answer in enumerate(accepted):
                    if asked.option(answer) is None:
                        yield f"{where}[{a}]", f"unknown answer {answer!r}"
    if spec.routing.default not in spec.tracks:
        yield "routing.default", f"unknown track {spec.routing.default!r}"
    if spec.next == spec.id:
        yield "next", "a journey cannot be its own next stage"

    for previous, (n, nudge) in zip(spec.nudges, enumerate(spec.nudges[1:], start=1), strict=False):
        if nudge.after <= previous.after:
            yield f"nudges[{n}].after", "each nudge must come later than the one before"

    stage_ids = {stage.id for stage in spec.stages}
    reward_ids: set[str] = set()
    for r, reward in enumerate(spec.rewards):
        at = f"rewards[{r}]"
        if reward.id in reward_ids:
            yield f"{at}.id", f"duplicate reward id {reward.id!r}"
        reward_ids.add(reward.id)
        trigger = reward.when
        set_fields = [
            name for name in ("after_step", "at_percent", "after_stage") if getattr(trigger, name) is not None
        ]
        if len(set_fields) != 1:
            yield f"{at}.when", "give exactly one of after_step, at_percent, after_stage"
        if trigger.after_step is not None and trigger.after_step not in step_ids:
            yield f"{at}.when.after_step", f"unknown step {trigger.after_step!r}"
        if trigger.after_stage is not None and trigger.after_stage not in stage_ids:
            yield f"{at}.when.after_stage", f"unknown stage {trigger.after_stage!r}"

    yield from checkin_issues(spec, questions)
    yield from offer_issues(spec, step_ids, stage_ids)


JOURNEY_SUFFIXES = (".yaml", ".yml")


def catalog_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files a catalog setting names: each file as given, each folder's journey files in name order."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in JOURNEY_SUFFIXES and p.is_file())
        else:
            files.append(path)
    return files


def load_catalog(paths: Sequence[str | Path]) -> Catalog:
    """Every journey of the catalog, checked file by file and then across files (ids, `next:` and the like);
    all problems are reported together, one `file:path:message` line each."""
    files = catalog_files(paths)
    if not files:
        shown = ", ".join(map(str, paths)) or "(nothing)"
        raise JourneyError([JourneyIssue(shown, "(folder)", "no journey files (*.yaml) in it")])
    issues: list[JourneyIssue] = []
    loaded: list[tuple[str, Journey]] = []
    for file in files:
        try:
            loaded.append((str(file), load_journey(file)))
        except JourneyError as exc:
            issues += exc.issues
    issues += check_catalog(loaded)
    if issues:
        raise JourneyError(issues)
    return Catalog([journey for _, journey in loaded])


def check_catalog(loaded: Sequence[tuple[str, Journey]]) -> list[JourneyIssue]:
    issues: list[JourneyIssue] = []
    first_file: dict[str, str] = {}
    for name, journey in loaded:
        if journey.id in first_file:
            clash = f"journey id {journey.id!r} is also the id of {first_file[journey.id]}"
            issues.append(JourneyIssue(name, "id", clash))
        first_file.setdefault(journey.id, name)
    # payments name an offer by its id: two journeys may share an offer (the same club) only selling the same
    first_offer: dict[str, tuple[str, Offer]] = {}
    for name, journey in loaded:
        for o, offer in enumerate(journey.spec.offers):
            seen = first_offer.setdefault(offer.id, (name, offer))
            if seen[0] != name and (seen[1].grants, seen[1].price, seen[1].lead) != (
                offer.grants,
                offer.price,
                offer.lead,
            ):
                clash = (
                    f"offer id {offer.id!r} is also an offer of {seen[0]} that sells something else or at another price"
                )
                issues.append(JourneyIssue(name, f"offers[{o}].id", clash + ": payments name offers by id"))
    for name, journey in loaded:
        for path, journey_id in references(journey):
            if journey_id not in first_file:
                issues.append(JourneyIssue(name, path, f"unknown journey {journey_id!r}: it is not in the catalog"))
    return issues
