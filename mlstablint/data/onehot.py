"""One-hot groups found from the data, not from column names.

A set S of 0/1 columns sums to 1 on every row exactly when its columns are pairwise disjoint
(never 1 on the same row) and their numbers of ones add up to the number of rows: disjoint
means at most one 1 per row, and n ones over n rows then means exactly one. Both facts are
entries of the Gram matrix of [1 | X]: for 0/1 columns Gram[i, j] counts the rows where both
are 1 and Gram[0, j] is column j's number of ones. These are integers, exact in float64 below
2**53 rows whatever order the products were summed in, so the test is exact.

Finding the sets is an exact-cover search over the disjointness graph; it is started from each
column in turn (largest first), bounded by a node budget, and any set it finds is a genuine
group (the argument above), whatever the names of its columns.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

NODE_BUDGET = 50_000  # per starting column


def find_groups(gram: NDArray[np.float64], binary: list[int], rows: int) -> tuple[list[list[int]], bool]:
    """Groups of design columns (0-based indices into X, i.e. Gram index - 1) summing to 1 on every row.

    `binary` lists the candidate columns: 0/1 values only, no missing value, neither all 0 nor all 1.
    Returns the groups (each sorted, disjoint from the others) and whether the search budget ran out.
    """
    if not binary:
        return [], False
    order = sorted(binary, key=lambda j: (-gram[0, j + 1], j))
    sums = [round(float(gram[0, j + 1])) for j in order]
    index = np.array([j + 1 for j in order])
    disjoint = gram[np.ix_(index, index)] == 0
    alive = np.ones(len(order), dtype=bool)
    groups: list[list[int]] = []
    exhausted = False
    for a in range(len(order)):
        if not alive[a]:
            continue
        candidates = [b for b in range(a + 1, len(order)) if alive[b] and disjoint[a, b]]
        found, ran_out = _cover(rows - sums[a], candidates, sums, disjoint)
        exhausted |= ran_out
        if found is not None:
            members = [a, *found]
            alive[members] = False
            groups.append(sorted(order[m] for m in members))
    groups.sort()
    return groups, exhausted


def _cover(target: int, candidates: list[int], sums: list[int], disjoint: NDArray[np.bool_]
           ) -> tuple[list[int] | None, bool]:
    """A subset of pairwise-disjoint candidates whose sums add up to `target` (depth-first search)."""
    nodes = 0

    def search(need: int, pool: list[int]) -> list[int] | None:
        nonlocal nodes
        if need == 0:
            return []
        if sum(sums[c] for c in pool) < need:
            return None
        for k, c in enumerate(pool):
            nodes += 1
            if nodes > NODE_BUDGET:
                return None
            if sums[c] > need:
                continue
            rest = [d for d in pool[k + 1:] if disjoint[c, d]]
            found = search(need - sums[c], rest)
            if found is not None:
                return [c, *found]
        return None

    if target <= 0:
        return None, False
    result = search(target, candidates)
    return result, nodes > NODE_BUDGET
