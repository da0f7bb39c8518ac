"""Check many files, in a process pool when it pays; the report is the same for any --jobs."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from mlstablint.code.discover import SourceFile
from mlstablint.code.engine import FileChecker, check_bytes
from mlstablint.config import Config
from mlstablint.findings import Report, ToolError

# Below this many files per worker, starting processes costs more than it saves.
MIN_FILES_PER_JOB = 8

_worker_checker: FileChecker | None = None


def _init_worker(enabled: set[str]) -> None:
    global _worker_checker
    _worker_checker = FileChecker(enabled)


def _check_one(checker: FileChecker, source: SourceFile, ignored: list[str]) -> Report:
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        return Report(errors=[ToolError(source.display, f"cannot read file: {exc.strerror or exc}")], files_checked=1)
    return check_bytes(checker, data, source.display, ignored, source.config_rel)


def _check_batch(batch: list[tuple[SourceFile, list[str]]]) -> Report:
    assert _worker_checker is not None
    out = Report()
    for source, ignored in batch:
        out.extend(_check_one(_worker_checker, source, ignored))
    return out


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def check_files(files: list[SourceFile], config: Config, enabled: set[str], jobs: int | None = None) -> Report:
    work = [(f, config.ignored_for(f.config_rel)) for f in files]
    jobs = default_jobs() if jobs is None else max(1, jobs)
    jobs = min(jobs, max(1, len(work) // MIN_FILES_PER_JOB))
    report = Report()
    if jobs == 1:
        checker = FileChecker(enabled)
        for source, ignored in work:
            report.extend(_check_one(checker, source, ignored))
        return report.finalize()
    # Interleaved batches balance big and small files; order is restored by finalize().
    batches = [work[i::jobs * 4] for i in range(jobs * 4)]
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(enabled,)) as pool:
        for part in pool.map(_check_batch, batches):
            report.extend(part)
    return report.finalize()

