"""Check many files, in a process pool when it pays; the report is the same for any --jobs.

The checked `.py` files are the project's modules (modules.py): each checker computes the summaries
of the functions a file calls from another of them on demand (summaries.py, memoized per process,
and a pure function of the files' contents, so any --jobs gives the same report). Cached files
(cache.py) are answered first, in this process, without importing libcst: an entry is served only
while the files its summaries were read from are unchanged. Only the misses are checked, and each
checker stores its own results.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlstablint.code.cache import ResultCache
from mlstablint.code.discover import SourceFile
from mlstablint.code.modules import ModuleIndex, build_index, package_words
from mlstablint.code.textio import decode_source
from mlstablint.code.words import text_words
from mlstablint.config import Config
from mlstablint.findings import Report, ToolError

if TYPE_CHECKING:
    from mlstablint.code.engine import FileChecker

# Below this many files per worker, starting processes costs more than it saves: a worker pays
# the interpreter, libcst's import (~0.3 s) and the rule set up before its first file.
MIN_FILES_PER_JOB = 8
# Tasks per worker: the largest files go first and alone, so that no worker is left with a big file at
# the end (measured on scikit-learn: 8 interleaved batches ended 9 % after the best schedule).
TASKS_PER_JOB = 24
# Objects between collections of the young generation (CPython's default is 700). With survivors frozen after
# each collection (`_quiet_gc`), measured on scikit-learn with two workers (three runs each): 10,000 gave
# 11.0-11.2 s of CPU, 20,000 11.3-11.8 s, 100,000 11.7-12.5 s, 400,000 12.5-13.3 s.
GC_YOUNG_THRESHOLD = 10_000

_worker_checker: FileChecker | None = None
_worker_cache: ResultCache | None = None
_worker_index: ModuleIndex | None = None

Work = tuple[SourceFile, list[str], bool]  # the file, its per-file ignores, whether to cache it


def _quiet_gc() -> None:
    """Exempt what is alive now (modules, rules) from collection, collect young objects less often, and after
    each collection exempt what survived it.

    A libcst parse allocates ~10^4 acyclic nodes per 1,000 lines, and every 700 allocations CPython scans the
    young generation; what survives (the module trees and summaries the run keeps) is scanned again in each
    older generation. Measured on scikit-learn with two workers: 13.9 s of CPU with the default thresholds
    and a freeze at start, 11.9 s freezing after each collection, 11.2 s with no collection at all. What a
    collection freezes is mostly kept for the run anyway: a file's tree is freed by reference counting once
    the next file starts (names.Resolver.release empties the scopes its bindings point back at).
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 50, 50)
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    if phase == "stop":
        gc.freeze()


@contextmanager
def _quiet_gc_here() -> Iterator[None]:
    """`_quiet_gc` in this process while it checks files, then the collector as it was (measured: a cold
    scikit-learn check in one process spent a third of its time collecting)."""
    thresholds = gc.get_threshold()
    _quiet_gc()
    try:
        yield
    finally:
        gc.callbacks.remove(_freeze_survivors)
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def _checker(enabled: set[str], max_nesting: int, index: ModuleIndex) -> FileChecker:
    from mlstablint.code.engine import FileChecker
    from mlstablint.code.summaries import Summaries

    return FileChecker(enabled, max_nesting=max_nesting, project=Summaries(index, max_nesting))


def _init_worker(enabled: set[str], cache: ResultCache | None, max_nesting: int, index: ModuleIndex) -> None:
    global _worker_checker, _worker_cache, _worker_index
    _worker_checker = _checker(enabled, max_nesting, index)
    _worker_cache = cache
    _worker_index = index
    _quiet_gc()


def _check_one(checker: FileChecker, cache: ResultCache | None, index: ModuleIndex, item: Work) -> Report:
    from mlstablint.code.engine import check_bytes

    source, ignored, cacheable = item
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        return Report(errors=[ToolError(source.display, f"cannot read file: {exc.strerror or exc}")], files_checked=1)
    module = index.of_path(source.path)
    report = check_bytes(checker, data, source.display, ignored, source.config_rel, module)
    if cache is not None and cacheable:
        # Keyed by the bytes checked here, so a file edited during the run is never stored under a stale key;
        # with what else the result was computed from, as it was read (see _still_valid).
        deps: dict[str, object] = {}
        if checker.project is not None:
            deps = {"files": dict(checker.project.read), "found": dict(checker.project.found),
                    "mentions": checker.mentions, "index": index.digest()}
        cache.store(cache.key(data, ignored, source.display, module.package if module else None), report,
                    checker.fingerprint_inputs, deps)
    return report


def _check_batch(batch: list[Work]) -> Report:
    assert _worker_checker is not None and _worker_index is not None
    out = Report()
    for item in batch:
        out.extend(_check_one(_worker_checker, _worker_cache, _worker_index, item))
    return out


def _size(item: Work) -> int:
    try:
        return item[0].path.stat().st_size
    except OSError:
        return 0  # the checker reports the file


def _largest_first(work: list[Work], tasks: int) -> list[list[Work]]:
    """Batches of files, largest first, each of about 1/tasks of the bytes (a big file is a batch of its
    own); the pool hands them out in this order, which balances the workers. finalize() restores order."""
    sized = sorted(((_size(item), item) for item in work), key=lambda pair: -pair[0])
    share = max(1, sum(size for size, _ in sized) // tasks)
    batches: list[list[Work]] = []
    filled = share
    for size, item in sized:
        if filled >= share:
            batches.append([])
            filled = 0
        batches[-1].append(item)
        filled += size
    return batches


class _Validity:
    """Whether what a cached result was computed from still holds: the other files its summaries were read
    from are unchanged, and, if the set of checked modules changed since, its words still name the same
    modules and its look-ups still resolve to the same files."""

    def __init__(self, index: ModuleIndex, root: Path) -> None:
        self.index = index
        self.root = root
        self.digest = index.digest()
        self._digests: dict[str, str] = {}

    def _sha(self, rel: str) -> str:
        if rel not in self._digests:
            try:
                self._digests[rel] = hashlib.sha256((self.root / rel).read_bytes()).hexdigest()
            except OSError:
                self._digests[rel] = ""
        return self._digests[rel]

    def __call__(self, deps: dict[str, Any], *, data: bytes, package: str | None) -> bool:
        files, found = deps.get("files"), deps.get("found")
        if not isinstance(files, dict) or not isinstance(found, dict):
            return False
        if any(self._sha(rel) != digest for rel, digest in files.items()):
            return False
        if deps.get("index") == self.digest:
            return True
        for name, rel in found.items():
            now = self.index.find(name)
            if (now[0].rel if now is not None else "") != rel:
                return False
        mentions = deps.get("mentions")
        if mentions is None:
            return False  # the text could not tell which modules it names
        try:
            text = decode_source(data)
        except ValueError:
            return False
        present = text_words(text)
        if present is not None:
            present |= package_words(package, text)  # as the checker counted them (engine._prefilter)
        return bool(self.index.mentions(present) == mentions)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def check_files(
    files: list[SourceFile], config: Config, enabled: set[str], jobs: int | None = None, use_cache: bool = True
) -> Report:
    report = Report()
    index = build_index(((source.path, source.display) for source in files), config.root)
    limits = (f"max-nesting={config.max_nesting}",)  # max-file-size acts before a file is read (discover)
    cache = ResultCache.open(config.root, enabled, limits) if use_cache and files else None
    valid = _Validity(index, Path(config.root))
    work: list[Work] = []
    for source in files:
        ignored = config.ignored_for(source.config_rel)
        cacheable = cache is not None and cache.covers(source.path)
        if cache is not None and cacheable:
            try:
                data = source.path.read_bytes()
            except OSError:
                data = None  # reported by the checker
            if data is not None:
                module = index.of_path(source.path)
                package = module.package if module else None
                key = cache.key(data, ignored, source.display, package)
                hit = cache.load(key, source.display, source.config_rel, partial(valid, data=data, package=package))
                if hit is not None:
                    report.extend(hit)
                    continue
        work.append((source, ignored, cacheable))
    if not work:
        return report.finalize()
    jobs = default_jobs() if jobs is None else max(1, jobs)
    jobs = min(jobs, max(1, len(work) // MIN_FILES_PER_JOB))
    if jobs == 1:
        checker = _checker(enabled, config.max_nesting, index)
        with _quiet_gc_here():
            for item in work:
                report.extend(_check_one(checker, cache, index, item))
        return report.finalize()
    from concurrent.futures import ProcessPoolExecutor

    batches = _largest_first(work, jobs * TASKS_PER_JOB)
    initargs = (enabled, cache, config.max_nesting, index)
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=initargs) as pool:
        for part in pool.map(_check_batch, batches):
            report.extend(part)
    return report.finalize()
