"""Ecosystem check: lint pinned public packages and compare every finding with the committed review.

    python bench/ecosystem/run.py [--package NAME]... [--rules both|all|default] [--update] [--cache DIR]

Like ruff's ecosystem check or mypy_primer. For each package of `packages.toml` (pinned by exact wheel
and sha256) it downloads the wheel once into the cache (default .bench-cache/ecosystem in the checkout, git-ignored,
or $MLSTABLINT_ECOSYSTEM_CACHE), unzips its `.py` files there, and runs
`mlstablint check --format json --no-cache` on them twice: with every rule selected, and with the default
rule set. Every finding is matched with `review/<name>.toml` by package, path, rule and the text of the
flagged line(s). It prints precision per rule (tp / labelled) for all rules and for the default set,
and the diff against the review: new findings to label, labelled findings that are gone.

Exit code: 0 the review is current (every finding labelled, no entry without its finding), 1 it is not,
2 a tool error (download, checksum, linter crash, invalid review). `--update` appends every new finding
to its review file as a `todo` entry with its message and source context, for a person to label.

A bench tool: it needs the network the first time (PyPI through pip), and never runs in the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the sibling module, importable because its folder is on sys.path when this runs as a script
from review import (
    Comparison,
    Entry,
    Finding,
    ReviewError,
    append_todo,
    compare,
    flagged_source,
    format_table,
    load_review,
    notebook_cells,
    precision_table,
    read_toml,
    todo_block,
)

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "packages.toml"
REVIEW_DIR = HERE / "review"
ALL_RULES = "MSL"  # every rule id starts with it: the prefix selects them all
CONTEXT_LINES = 4  # source lines shown on each side of a new finding in a `todo` entry
WHEEL_TAGS = re.compile(r"-(?P<python>cp\d+|py[\d.]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$")


class ToolError(Exception):
    """Something the run cannot go on without (one line, exit code 2)."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    wheel: str
    sha256: str

    @property
    def slug(self) -> str:
        return f"{self.name}-{self.version}"


def load_manifest(path: Path = MANIFEST) -> list[Package]:
    data = read_toml(path)
    return [Package(p["name"], p["version"], p["wheel"], p["sha256"]) for p in data["package"]]


def pip_platform_args(wheel: str) -> list[str]:
    """pip download options that select this exact wheel file on any machine (none for a pure wheel)."""
    tags = WHEEL_TAGS.search(wheel)
    if tags is None or tags["python"].startswith("py"):
        return []
    python = tags["python"][2:]
    args = ["--implementation", "cp", "--python-version", f"{python[0]}.{python[1:]}", "--abi", tags["abi"]]
    for platform in tags["platform"].split("."):
        args += ["--platform", platform]
    return args


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(package: Package, cache: Path, offline: bool) -> Path:
    """The package's `.py` sources, unzipped once from the checksummed wheel: the folder to lint."""
    source = cache / "src" / package.slug
    done = source / ".complete"
    if done.exists():
        return source
    wheel = cache / "wheels" / package.wheel
    if not wheel.exists():
        if offline:
            raise ToolError(f"{package.slug}: {wheel} is not in the cache and --offline was given")
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                   *pip_platform_args(package.wheel), f"{package.name}=={package.version}",
                   "-d", str(wheel.parent)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wheel.exists():
            last = (result.stderr.strip().splitlines() or ["no such wheel downloaded"])[-1]
            raise ToolError(f"{package.slug}: pip download failed: {last}")
    actual = sha256(wheel)
    if actual != package.sha256:
        raise ToolError(f"{package.slug}: {wheel.name} has sha256 {actual}, the manifest pins {package.sha256}")
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            top = name.split("/", 1)[0]
            # Notebooks too: tutorial packages ship their lessons as .ipynb (linted natively).
            if name.endswith((".py", ".ipynb")) and not top.endswith((".dist-info", ".data")):
                archive.extract(name, source)
    done.write_text(package.sha256, encoding="utf-8")
    return source


@dataclass
class LintRun:
    findings: list[Finding]
    errors: int
    seconds: float


def lint(package: Package, source: Path, config: Path, select: str | None, jobs: int | None) -> LintRun:
    """Run the CLI on the unzipped sources; findings keyed by the text of their lines."""
    command = [sys.executable, "-m", "mlstablint", "check", ".", "--format", "json", "--no-cache",
               "--no-confirm", "--config", str(config)]
    if select:
        command += ["--select", select]
    if jobs:
        command += ["--jobs", str(jobs)]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=source, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ToolError(f"{package.slug}: mlstablint exited {result.returncode} without a JSON report: "
                        f"{last}") from None
    lines_of: dict[str, list[str]] = {}
    cells_of: dict[str, dict[int, list[str]]] = {}
    findings = []
    for item in report["findings"]:
        path = item["path"]
        cell, cell_line = item.get("cell"), item.get("cell_line")
        if cell is not None and cell_line is not None:
            if path not in cells_of:
                cells_of[path] = notebook_cells((source / path).read_text(encoding="utf-8", errors="replace"))
            text = flagged_source(cells_of[path].get(cell, []), cell_line, cell_line)
        else:
            if path not in lines_of:
                lines_of[path] = (source / path).read_text(encoding="utf-8", errors="replace").splitlines()
            text = flagged_source(lines_of[path], item["line"], item.get("end_line") or item["line"])
        findings.append(Finding(package.name, path, item["rule"], item["line"], text, item["message"], cell,
                                cell_line))
    return LintRun(findings, len(report.get("errors", [])), seconds)


def context(source: Path, finding: Finding) -> list[tuple[int, str]]:
    """Numbered lines around a finding: of its file, or of its cell for a notebook (numbered in the cell)."""
    text = (source / finding.path).read_text(encoding="utf-8", errors="replace")
    line = finding.line
    if finding.cell is not None and finding.cell_line is not None:
        lines, line = notebook_cells(text).get(finding.cell, []), finding.cell_line
    else:
        lines = text.splitlines()
    first = max(1, line - CONTEXT_LINES)
    return [(n, lines[n - 1]) for n in range(first, min(len(lines), line + CONTEXT_LINES) + 1)]


def review_header(package: Package) -> str:
    return (f"# Review of mlstablint's findings on {package.name} {package.version} (bench/ecosystem/README.md).\n"
            "# label: tp (a real, actionable hazard for inputs the code can receive), benign (the pattern is\n"
            "# there but cannot misbehave: say why), fp (the pattern is not there); reason: one line.\n\n")


def print_diff(comparison: Comparison) -> None:
    for finding in comparison.new:
        print(f"  new   {finding.path}:{finding.line} {finding.rule} {finding.source.splitlines()[0][:100]}")
    for entry in comparison.gone:
        print(f"  gone  {entry.path}:{entry.line} {entry.rule} [{entry.label}] {entry.source.splitlines()[0][:100]}")
    for finding in comparison.todo:
        print(f"  todo  {finding.path}:{finding.line} {finding.rule} {finding.source.splitlines()[0][:100]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", action="append", default=[], help="only this package (repeatable)")
    parser.add_argument("--rules", choices=("both", "all", "default"), default="both",
                        help="lint with every rule selected, the default set, or both (default)")
    parser.add_argument("--update", action="store_true", help="append new findings to the review as `todo`")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "MLSTABLINT_ECOSYSTEM_CACHE", Path(__file__).resolve().parents[2] / ".bench-cache" / "ecosystem")),
        help="where wheels and unzipped sources are kept (default .bench-cache/ecosystem in the checkout, "
             "git-ignored)")
    parser.add_argument("--offline", action="store_true", help="fail instead of downloading a missing wheel")
    parser.add_argument("--jobs", type=int, default=None, help="passed to mlstablint check --jobs")
    args = parser.parse_args(argv)

    try:
        packages = load_manifest()
        unknown = sorted(set(args.package) - {p.name for p in packages})
        if unknown:
            raise ToolError(f"not in {MANIFEST.name}: {', '.join(unknown)}")
        packages = [p for p in packages if not args.package or p.name in args.package]
        args.cache.mkdir(parents=True, exist_ok=True)
        config = args.cache / "mlstablint.toml"  # empty: the defaults, whatever pyproject.toml is above
        config.write_text("", encoding="utf-8")
        all_labels: list[tuple[str, str]] = []
        default_labels: list[tuple[str, str]] = []
        current = True
        for package in packages:
            source = fetch(package, args.cache, args.offline)
            review_file = REVIEW_DIR / f"{package.name}.toml"
            entries: list[Entry] = load_review(review_file, package.name)
            widest: Comparison | None = None
            summary = [f"{package.slug}:"]
            if args.rules in ("both", "all"):
                run = lint(package, source, config, ALL_RULES, args.jobs)
                widest = compare(run.findings, entries)
                all_labels += widest.labels()
                summary.append(f"{len(run.findings)} findings (all rules, {run.seconds:.1f} s)")
            if args.rules in ("both", "default"):
                run = lint(package, source, config, None, args.jobs)
                by_default = compare(run.findings, entries)
                default_labels += by_default.labels()
                if widest is None:  # the default set alone cannot tell a gone finding from an unselected rule
                    widest = by_default
                    widest.gone = []
                summary.append(f"{len(run.findings)} findings (default set, {run.seconds:.1f} s)")
            assert widest is not None
            summary.append(f"{run.errors} files not parsed; {len(widest.new)} new, {len(widest.gone)} gone, "
                           f"{len(widest.todo)} todo")
            print(" ".join(summary), flush=True)
            print_diff(widest)
            current = current and widest.current
            if args.update and widest.new:
                append_todo(review_file, review_header(package),
                            [todo_block(f, context(source, f)) for f in widest.new])
                print(f"  appended {len(widest.new)} todo entries to {review_file.relative_to(HERE.parent.parent)}")
    except (ToolError, ReviewError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    if args.rules in ("both", "all"):
        print(format_table(precision_table(all_labels), "Every rule selected:"))
        print()
    if args.rules in ("both", "default"):
        print(format_table(precision_table(default_labels), "Default rule set:"))
        print()
    print("The review is current." if current else
          "The review is NOT current: label the new and todo findings, delete the gone entries "
          "(--update appends the new ones as todo).")
    return 0 if current else 1


if __name__ == "__main__":
    sys.exit(main())
