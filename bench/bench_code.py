"""Benchmark of the code path against the issue's targets, every figure measured in the same run.

    /work/venv/bin/python bench/bench_code.py [--repeat 3] [--corpus DIR]

Needs: flake8 and ruff in the same environment (`pip install flake8 ruff`); libcst (a dependency).
The corpus is scikit-learn 1.9.1's package sources (the `.py` files of its wheel): taken from
.bench-cache/scikit_learn-1.9.1/ inside the checkout (git-ignored), downloaded there the first time with
`pip download --no-deps --only-binary :all: scikit-learn==1.9.1` and unzipped. It is copied
into a scratch project so that the cache (which only covers files under the project root)
applies to the warm run.

Measured (wall time, median of --repeat runs, interpreter start-up included for commands):
cold `mlstablint check` (--no-cache, --jobs = core count), flake8 and ruff over the same files,
`ast.parse` and libcst `parse_module` of every file in one process, the warm run (cache
populated, nothing changed) and `mlstablint check` on 10 files (cold, as pre-commit runs it).
Prints figures and ratios against the targets; asserts nothing. `--phases` instead profiles one cold
check in one process and prints what each phase costs (pre-pass, libcst parse, summaries, rules).
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / ".bench-cache" / "scikit_learn-1.9.1"
BIN = Path(sys.executable).parent


def fetch_corpus(scratch: Path) -> Path:
    """scikit-learn 1.9.1's package sources, downloaded and unzipped into `scratch` (once: kept there)."""
    if (scratch / "unzipped" / "sklearn").is_dir():
        return scratch / "unzipped" / "sklearn"
    wheels = scratch / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                    "scikit-learn==1.9.1", "-d", str(wheels)], check=True)
    wheel = next(wheels.glob("scikit_learn-*.whl"))
    out = scratch / "unzipped"
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.startswith("sklearn/") and name.endswith(".py"):
                z.extract(name, out)
    return out / "sklearn"


def copy_sources(corpus: Path, project: Path) -> Path:
    target = project / "sklearn"
    for src in corpus.rglob("*.py"):
        dst = target / src.relative_to(corpus)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return target


def wall(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(fn: Callable[[], float], repeat: int) -> float:
    return statistics.median(fn() for _ in range(repeat))


# What the analysis costs, by phase: (label, source file suffix, function) of the profile's inclusive times. The
# phases nest (the rules' walk asks for summaries, a summary parses its slice), so they do not add up.
PHASES = (
    ("whole cold check (1 process)", "mlstablint/code/runner.py", "check_files"),
    ("pre-pass (text words, ast.parse, CodeFacts, summary text bounds)", "mlstablint/code/engine.py", "_prefilter"),
    ("  of which summaries' text bounds (virtual_names)", "mlstablint/code/summaries.py", "virtual_names"),
    ("libcst parse_module (checked files and summary slices)", "libcst/_parser/entrypoints.py", "parse_module"),
    ("rules' walk (value analysis and leakage flows included)", "mlstablint/code/walk.py", "walk"),
    ("  of which summaries of returns (slices parsed)", "mlstablint/code/summaries.py", "returns"),
    ("  of which leakage summaries (slices parsed)", "mlstablint/code/summaries.py", "leak_summary"),
    ("positions of findings", "mlstablint/code/engine.py", "_locate"),
)


def phases(project: Path) -> None:
    """Profile one cold check in this process (`--jobs 1`, default rules) and print each phase's share."""
    import cProfile
    import pstats

    from mlstablint.cli import main as cli

    profile = cProfile.Profile()
    argv, cwd = sys.argv, Path.cwd()
    sys.argv = ["mlstablint", "check", "--format", "json", "--no-cache", "--jobs", "1", "sklearn"]
    os.chdir(project)
    try:
        with open(os.devnull, "w") as devnull:
            stdout, sys.stdout = sys.stdout, devnull
            try:
                profile.runcall(cli)
            except SystemExit:
                pass
            finally:
                sys.stdout = stdout
    finally:
        sys.argv = argv
        os.chdir(cwd)
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = pstats.Stats(
        profile).stats  # type: ignore[attr-defined]
    total = next((v[3] for (f, _, name), v in stats.items() if f.endswith(PHASES[0][1]) and name == PHASES[0][2]),
                 float("nan"))
    print("\nphases of a cold check in one process (cProfile, inclusive CPU seconds; profiling slows it ~2x):")
    for label, suffix, function in PHASES:
        seconds = sum(v[3] for (f, _, name), v in stats.items() if f.endswith(suffix) and name == function)
        print(f"  {label:<66} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure (median; default 3)")
    parser.add_argument("--corpus", type=Path, default=None, help="a folder of .py files (default: scikit-learn)")
    parser.add_argument("--phases", action="store_true", help="only profile one cold check by phase (1 process)")
    args = parser.parse_args()
    repeat = max(1, args.repeat)

    with tempfile.TemporaryDirectory(prefix="bench_code_") as tmp:
        scratch = Path(tmp)
        corpus = args.corpus or fetch_corpus(CACHE)
        project = scratch / "project"
        project.mkdir()
        src = copy_sources(corpus, project)
        files = sorted(src.rglob("*.py"))
        texts = [f.read_bytes() for f in files]
        lines = sum(t.count(b"\n") for t in texts)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        print(f"corpus: {corpus} — {len(files)} files, {lines} lines; {cores} cores; median of {repeat}\n")
        if args.phases:
            phases(project)
            return

        # As installed: pip byte-compiles a package, an editable checkout under PYTHONDONTWRITEBYTECODE is compiled
        # from source at every start (~0.2 s of every run here), so the package is byte-compiled first.
        import compileall

        import mlstablint as package

        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
        mlstablint = [sys.executable, "-m", "mlstablint", "check", "--format", "json"]
        cache_dir = project / ".mlstablint_cache"
        rows: list[tuple[str, float, str]] = []

        def measure(name: str, fn: Callable[[], float], note: str = "") -> float:
            value = median(fn, repeat)
            rows.append((name, value, note))
            print(f"  {name:<48} {value:8.2f} s", flush=True)
            return value

        # The three linters run in rounds (one run of each per round), so that a load spike on a shared
        # machine weighs on all of them alike; each figure is the median over the rounds.
        commands = {"mlstablint check (cold, --no-cache)": [*mlstablint, "--no-cache", "sklearn"]}
        if (BIN / "flake8").exists():
            commands["flake8"] = [str(BIN / "flake8"), "sklearn"]
        if (BIN / "ruff").exists():
            commands["ruff check --no-cache"] = [str(BIN / "ruff"), "check", "--no-cache", "--isolated", "sklearn"]
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(repeat):
            for name, command in commands.items():
                samples[name].append(wall(command, project))
        for name, values in samples.items():
            rows.append((name, statistics.median(values), ""))
            print(f"  {name:<48} {statistics.median(values):8.2f} s   (runs: {', '.join(f'{v:.2f}' for v in values)})",
                  flush=True)
        cold = statistics.median(samples["mlstablint check (cold, --no-cache)"])
        flake8 = statistics.median(samples["flake8"]) if "flake8" in samples else float("nan")
        ruff = statistics.median(samples["ruff check --no-cache"]) if "ruff check --no-cache" in samples else float(
            "nan")
        measure("ast.parse of every file (1 process)", lambda: timed(lambda: [ast.parse(t) for t in texts]))
        import libcst

        measure("libcst parse_module of every file (1 process)",
                lambda: timed(lambda: [libcst.parse_module(t) for t in texts]))
        shutil.rmtree(cache_dir, ignore_errors=True)
        wall([*mlstablint, "sklearn"], project)  # populate the cache
        warm = measure("mlstablint check (warm: cache, nothing changed)", lambda: wall([*mlstablint, "sklearn"],
                                                                                       project))
        ten = [str(f.relative_to(project)) for f in files[:: max(1, len(files) // 10)][:10]]
        ten_files = measure("mlstablint check on 10 files (cold, --no-cache)",
                            lambda: wall([*mlstablint, "--no-cache", *ten], project))

        print("\n| measure | seconds | target | ratio | met |\n|---|---:|---|---:|---|")
        for name, value, _ in rows:
            target, ratio, met = "", "", ""
            if name.startswith("mlstablint check (cold"):
                target, ratio = "≤ 0.5 × flake8", f"{value / flake8:.2f} × flake8; {value / ruff:.1f} × ruff"
                met = "yes" if value <= 0.5 * flake8 else "no"
                met += " (stretch ≤10× ruff: " + ("yes" if value <= 10 * ruff else "no") + ")"
            elif name.startswith("mlstablint check (warm"):
                target, ratio, met = "≤ 0.5 s", f"{value / 0.5:.2f} × target", "yes" if value <= 0.5 else "no"
            elif name.startswith("mlstablint check on 10"):
                target, ratio, met = "≤ 1 s", f"{value:.2f} × target", "yes" if value <= 1.0 else "no"
            print(f"| {name} | {value:.2f} | {target} | {ratio} | {met} |")
        del cold, warm, ten_files


if __name__ == "__main__":
    main()
