"""The test suite's wall time, this checkout against a baseline commit, side by side on one machine.

    python benchmarks/suite_speed.py --database-url postgresql+asyncpg://postgres@127.0.0.1/jb_speed \\
        --baseline-database-url postgresql+asyncpg://postgres@127.0.0.1/jb_speed_base [--baseline a56f928]

The baseline is checked out into a temporary git worktree with its own venv (`pip install -e .[test]`: its
subprocess tests run `python -m bot`, which must import the baseline's code, not this checkout's). Each row
selects the same tests in both checkouts, by the backend in the test ids (`database_url` and
`empty_database_url` are parametrized `[sqlite]` / `[postgresql]`):

    sqlite       -k sqlite                          (also test_sqlite_connections_enforce_foreign_keys)
    postgresql   -k postgresql                      (TEST_DATABASE_URL set; each checkout its own database)
    no database  -k "not sqlite and not postgresql" (the domain, the stand-in, the CLI, the package, the demo)

Both checkouts run their own default pytest options (the baseline: one process; this checkout: whatever its
conftest chooses). Runs alternate (baseline then current, current then baseline on the next row), so a change
in the machine's load hits both, or with --concurrent run at the same time (quicker; each slows the other).
The load average (os.getloadavg, 1/5/15 min) at the end of each run is printed with it.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROWS = {
    "sqlite": ["-k", "sqlite"],
    "postgresql": ["-k", "postgresql"],
    "no database": ["-k", "not sqlite and not postgresql"],
}


@dataclass
class Run:
    seconds: float
    summary: str
    load: tuple[float, float, float]


class Pytest:
    """One pytest run in a checkout, started at once; `wait()` gives its wall time and summary line."""

    def __init__(self, checkout: Path, python: Path, selection: list[str], database_url: str | None) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "PYTEST_ADDOPTS")}
        if database_url:
            env["TEST_DATABASE_URL"] = database_url
        command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection]
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command, cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def wait(self) -> Run:
        stdout, stderr = self.process.communicate()
        seconds = time.monotonic() - self.started
        lines = stdout.strip().splitlines()
        summary = lines[-1].strip("= ") if lines else f"exit {self.process.returncode}"
        if self.process.returncode != 0:
            summary = f"FAILED (exit {self.process.returncode}): {summary}"
            print(stdout[-3000:], stderr[-2000:], sep="\n", file=sys.stderr)
        return Run(seconds, re.sub(r" in [0-9.]+s.*$", "", summary), os.getloadavg())


def baseline_checkout(commit: str, checkout: Path) -> Path:
    """The baseline's python, its worktree and venv made at `checkout` unless an earlier run left them there."""
    python = checkout / ".venv" / "bin" / "python"
    if python.exists():
        return python
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(checkout), commit], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(checkout / ".venv")], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", f"{checkout}[test]"], check=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="a56f928", help="the commit to compare with")
    parser.add_argument("--database-url", required=True, help="this checkout's PostgreSQL test database")
    parser.add_argument("--baseline-database-url", required=True, help="the baseline's, a different database")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"some of: {', '.join(ROWS)} (comma-separated)")
    parser.add_argument("--concurrent", action="store_true", help="run both checkouts at once, not one after the other")
    parser.add_argument("--baseline-dir", type=Path, help="keep the baseline's worktree and venv here, for reruns")
    args = parser.parse_args()
    if args.database_url == args.baseline_database_url:
        parser.error("the two checkouts need different databases: each session drops its leftovers")

    current_python = REPO / ".venv" / "bin" / "python"
    checkout = args.baseline_dir or Path(tempfile.mkdtemp(prefix="suite-speed-")) / "baseline"
    baseline_python = baseline_checkout(args.baseline, checkout)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    print(f"baseline {args.baseline} vs current {head.stdout.strip()}; {os.cpu_count()} CPUs", flush=True)
    results: list[tuple[str, Run, Run]] = []
    try:
        for n, row in enumerate(args.rows.split(",")):
            selection = ROWS[row]
            urls = (args.baseline_database_url, args.database_url) if row == "postgresql" else (None, None)
            sides = [("before", checkout, baseline_python, urls[0]), ("after", REPO, current_python, urls[1])]
            runs: dict[str, Run] = {}
            if args.concurrent:
                started = {label: Pytest(where, python, selection, url) for label, where, python, url in sides}
                runs = {label: run.wait() for label, run in started.items()}
            else:
                for label, where, python, url in sides if n % 2 == 0 else reversed(sides):
                    runs[label] = Pytest(where, python, selection, url).wait()
            for label, run in runs.items():
                load = " ".join(f"{x:.1f}" for x in run.load)
                print(f"{row:12} {label:6} {run.seconds:7.1f} s  {run.summary}  (load {load})", flush=True)
            results.append((row, runs["before"], runs["after"]))
    finally:
        if not args.baseline_dir:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(checkout)], check=False)
            shutil.rmtree(checkout.parent, ignore_errors=True)

    print("\n| tests | before (s) | after (s) | ratio |\n|---|---|---|---|")
    for row, before, after in results:
        print(f"| {row} | {before.seconds:.0f} | {after.seconds:.0f} | {before.seconds / after.seconds:.2f}× |")
    total_before = sum(before.seconds for _, before, _ in results)
    total_after = sum(after.seconds for _, _, after in results)
    print(f"| all rows | {total_before:.0f} | {total_after:.0f} | {total_before / total_after:.2f}× |")


if __name__ == "__main__":
    main()
