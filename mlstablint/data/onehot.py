"""One-hot groups found from the data, not from column names.

A set S of 0/1 columns sums to 1 on every row exactly when its columns are pairwise disjoint
(never 1 on the same row) and their numbers of ones add up to the number of rows: disjoint
means at most one 1 per row, and n ones over n rows then means exactly one. Both facts are
entries of the Gram matrix of [1 | X]: for 0/1 columns Gram[i, j] counts the rows where both
are 1 and Gram[0, j] is column j's number of ones. These are integers, exact in float64 below
2**53 rows whatever order the products were summed in, so the test is exact.

Finding the sets is an exact-cover search over the disjointness graph; it is started from each
column in turn (largest first), bounded by a node budget, and any set it finds is a genuine
group (the argument above), whatever the names of its columns. The Gram matrix may be a dense array or
a scipy.sparse matrix (wide one-hot designs): only its first row and the pattern of its nonzeros
among the candidate columns are read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

NODE_BUDGET = 50_000  # per starting column


def _overlaps(gram: Any, index: NDArray[np.int_]) -> list[NDArray[np.int_]]:
    """For each candidate (position in `index`), the positions of the candidates it shares a row with."""
    import scipy.sparse

    if scipy.sparse.issparse(gram):
        sub = scipy.sparse.csr_matrix(gram)[index][:, index]
        sub.eliminate_zeros()
        return [sub.indices[sub.indptr[i]:sub.indptr[i + 1]] for i in range(len(index))]
    dense = np.asarray(gram)[np.ix_(index, index)] != 0
    return [np.flatnonzero(row) for row in dense]


def find_groups(gram: Any, binary: list[int], rows: int) -> tuple[list[list[int]], bool]:
    """Groups of design columns (0-based indices into X, i.e. Gram index - 1) summing to 1 on every row.

    `gram` is the Gram matrix of [1 | X], dense or scipy.sparse. `binary` lists the candidate columns: 0/1
    values only, no missing value, neither all 0 nor all 1. Returns the groups (each sorted, disjoint from
    the others) and whether the search budget ran out.
    """
    if not binary:
        return [], False
    import scipy.sparse

    first = np.asarray(gram[[0], :].toarray()[0] if scipy.sparse.issparse(gram) else gram[0], dtype=np.float64)
    order = sorted(binary, key=lambda j: (-first[j + 1], j))
    sums = [round(float(first[j + 1])) for j in order]
    overlaps = _overlaps(gram, np.array([j + 1 for j in order]))
    alive = np.ones(len(order), dtype=bool)
    groups: list[list[int]] = []
    exhausted = False
    for a in range(len(order)):
        if not alive[a]:
            continue
        open_ = alive.copy()
        open_[: a + 1] = False
        open_[overlaps[a]] = False
        found, ran_out = _cover(rows - sums[a], [int(b) for b in np.flatnonzero(open_)], sums, overlaps)
        exhausted |= ran_out
        if found is not None:
            members = [a, *found]
            alive[members] = False
            groups.append(sorted(order[m] for m in members))
    groups.sort()
    return groups, exhausted


def find_groups_sparse(gram: Any, binary: list[int], rows: int) -> tuple[list[list[int]], bool]:
    """`find_groups` for a wide design's sparse Gram matrix, where levels are many and rare: two levels of
    different variables then seldom share a row, nearly every pair of columns is disjoint, and the
    exact-cover search from a column alone runs out of budget.

    A group's indicator (−1 on the intercept, 1 on its columns) is a null vector of [1 | X], so in any basis
    of the null space of [1 | X_binary] the columns of one group that take part in no other dependency
    have the same coordinates (their "signature"), and a column in no dependency has none. Columns are
    clustered by signature; a cluster whose columns are pairwise disjoint is a group when its ones add up
    to the rows (the exact test of the module docstring), else the search completes it from the few
    columns disjoint from all of its members (a member that also takes part in another dependency, such
    as a copied level). Every group returned passes the exact test.
    """
    if not binary:
        return [], False
    import scipy.sparse

    from mlstablint.data.linalg import equilibrated, sparse_null_space

    index = np.array([0, *[j + 1 for j in binary]])
    sub = scipy.sparse.csr_matrix(gram)[index][:, index]
    scaled, norms = equilibrated(sub)
    basis, _lam_max, _smallest = sparse_null_space(scaled, smallest=False)
    if not basis.shape[1]:
        return [], False
    sums = [round(float(v)) for v in sub[[0], :].toarray()[0][1:]]
    overlaps = _overlaps(gram, index[1:])
    signature = (basis / norms[:, None])[1:]  # null vectors of the unscaled design
    scale = float(np.abs(signature).max())
    clusters: dict[bytes, list[int]] = {}
    for position, row in enumerate(signature):
        if np.abs(row).max() > 1e-8 * scale:
            clusters.setdefault(np.round(row / scale, 7).tobytes(), []).append(position)
    alive = np.ones(len(binary), dtype=bool)
    groups: list[list[int]] = []
    exhausted = False
    for members in sorted(clusters.values(), key=lambda m: (-len(m), m)):
        members = [m for m in members if alive[m]]
        if len(members) < 1 or any(np.isin(overlaps[m], members).sum() > int(m in overlaps[m]) for m in members):
            continue  # not pairwise disjoint: no group
        total = sum(sums[m] for m in members)
        found: list[int] | None = []
        if total < rows:
            open_ = alive.copy()
            open_[members] = False
            for m in members:
                open_[overlaps[m]] = False
            pool = sorted(np.flatnonzero(open_).tolist(), key=lambda c: (-sums[c], c))
            found, ran_out = _cover(rows - total, pool, sums, overlaps)
            exhausted |= ran_out
        if found is not None and total <= rows:
            group = [*members, *found]
            alive[group] = False
            groups.append(sorted(binary[m] for m in group))
    groups.sort()
    return groups, exhausted


def _cover(target: int, candidates: list[int], sums: list[int], overlaps: list[NDArray[np.int_]]
           ) -> tuple[list[int] | None, bool]:
    """A subset of pairwise-disjoint candidates whose sums add up to `target` (depth-first search)."""
    nodes = 0
    shares: dict[int, set[int]] = {}

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
            if c not in shares:
                shares[c] = set(overlaps[c].tolist())
            rest = [d for d in pool[k + 1:] if d not in shares[c]]
            found = search(need - sums[c], rest)
            if found is not None:
                return [c, *found]
        return None

    if target <= 0:
        return None, False
    result = search(target, candidates)
    return result, nodes > NODE_BUDGET
