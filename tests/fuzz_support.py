"""Hypothesis settings of the fuzz tests (tests/test_fuzz_*.py).

CI runs a bounded, derandomized number of examples per test, so that a run is reproducible and quick;
`MLSTABLINT_FUZZ_EXAMPLES=N` runs N examples per test instead (e.g. 2000 for a long local session; the
tests that start the command line per example run N/25).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz_settings(default: int, per_process: bool = False) -> settings:
    """`per_process`: each example starts the command line (~1 s), so the flag runs 1/25 as many."""
    wanted = os.environ.get("MLSTABLINT_FUZZ_EXAMPLES")
    examples = default if not wanted else max(default, int(wanted) // 25) if per_process else int(wanted)
    return settings(
        max_examples=examples,
        derandomize=True,  # the same examples on every run: a CI failure reproduces locally
        database=None,
        deadline=None,  # a shared 2-core machine: no per-example timing
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=True,
    )
