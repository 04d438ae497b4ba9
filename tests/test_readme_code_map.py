"""README's Development section names every module of bot/ and journeys/, so the code map follows the tree."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# named as a whole in the code map: the stand-in's and Alembic's own files are not the product's parts
WHOLE_PACKAGES = {"bot/standin", "bot/migrations", "bot/locales", "bot/journeys_shipped"}


def development_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## Development")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def test_the_code_map_names_every_module() -> None:
    section = development_section()
    missing = []
    for package in ("bot", "journeys"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if path.name in ("__init__.py", "__main__.py") or any(
                relative.is_relative_to(whole) for whole in WHOLE_PACKAGES
            ):
                continue
            names = (f"`{path.name}`", f"`{relative}`", f"`{path.stem}`")  # handlers go by their stem: `start`
            if not any(name in section for name in names):
                missing.append(str(relative))
    for whole in WHOLE_PACKAGES:
        if f"`{whole}/`" not in section and f"`{Path(whole).name}/`" not in section:
            missing.append(f"{whole}/")
    assert not missing, f"README's Development section does not name: {', '.join(missing)}"
