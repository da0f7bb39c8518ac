"""Wide one-hot designs above max-design-columns: the one-hot trap and the rank check from a sparse Gram
matrix, against numpy/scipy on the dense design and against the structure the tables are built with.

The tables: categorical variables one-hot encoded into their full dummy groups (every level occurs),
`copies` of some dummies under other names, numeric columns, and one numeric column that is an exact
combination of dummies and a numeric column: beyond the one-hot groups the design has exactly
`copies + 1` more dependencies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import scipy.sparse

import mlstablint
from mlstablint.data import linalg, onehot


def wide_onehot(rows: int, levels: list[int], copies: int, numeric: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i, k in enumerate(levels):
        code = rng.integers(0, k, rows)
        code[:k] = rng.permutation(k)  # every level occurs: no all-zero dummy
        for level in range(k):
            columns[f"v{i}_{level}"] = (code == level).astype(np.uint8)
    dummies = list(columns)
    for c, name in enumerate(rng.choice(dummies, copies, replace=False)):
        columns[f"copy{c}"] = columns[name].copy()
    for j in range(numeric):
        columns[f"x{j}"] = rng.normal(0.0, 10.0 ** j, rows).round(3)
    picked = rng.choice(dummies, 3, replace=False)
    columns["mix"] = 2.0 * columns[picked[0]] - 3.0 * columns[picked[1]] + columns[picked[2]] + 0.5 * columns["x0"]
    columns["y"] = rng.normal(0.0, 1.0, rows)
    return pd.DataFrame(columns)


def design(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The model's design as the audit names its columns ("(intercept)" for the column of ones)."""
    return np.column_stack([np.ones(len(frame)) if n == "(intercept)" else frame[n].to_numpy(np.float64)
                            for n in names])


def findings(report: Any) -> dict[str, dict[str, Any]]:
    return {f.rule: f.evidence for f in report.findings}


def test_sparse_path_against_numpy_rank_and_null_space(tmp_path: Path) -> None:
    frame = wide_onehot(rows=2500, levels=[240, 150, 120, 90], copies=4)
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path, index=False)
    report = mlstablint.audit(path, target="y", thresholds={"max-design-columns": 100})
    ev = findings(report)
    assert any("one-hot and rank checks from the sparse Gram matrix" in n for n in report.notes), report.notes
    # The trap: the four categorical variables, each summing to 1.
    assert ev["MSL603"]["group_count"] == 4
    assert [len(g) for g in ev["MSL603"]["groups"]] == [240, 150, 120, 90]
    # Rank of the whole design [1 | X] by numpy's SVD; null space dimension by scipy.
    features = [c for c in frame.columns if c != "y"]
    full = design(frame, ["(intercept)", *features])
    rank = np.linalg.matrix_rank(full)
    assert rank == full.shape[1] - (4 + 4 + 1)  # by construction: one per group, one per copy, the mix
    rank_ev = ev["MSL604"]
    assert rank_ev["rank"] == rank and rank_ev["columns"] == full.shape[1]
    assert rank_ev["null_directions"] == 4 + 1
    # Every reported direction is a null vector of the data, and together with one dropped level per group
    # they span the whole null space (scipy.linalg.null_space of the design).
    vectors = []
    for direction in rank_ev["directions"]:
        coefs = direction["coefficients"]
        v = np.zeros(full.shape[1])
        for name, value in coefs.items():
            v[(["(intercept)", *features]).index(name)] = value
        assert np.linalg.norm(full @ v) <= 1e-4 * np.linalg.norm(v) * np.sqrt(len(frame)), direction
        vectors.append(v)
    null = scipy.linalg.null_space(full)
    assert null.shape[1] == full.shape[1] - rank
    # The reported directions lie in numpy's null space: projecting them off it leaves (almost) nothing.
    stacked = np.column_stack(vectors)
    residual = stacked - null @ (null.T @ stacked)
    assert np.abs(residual).max() <= 1e-4 * np.abs(stacked).max()
    assert np.linalg.matrix_rank(stacked, tol=1e-6 * np.abs(stacked).max()) == 5


def test_sparse_and_dense_paths_agree(tmp_path: Path) -> None:
    frame = wide_onehot(rows=2000, levels=[120, 60, 40], copies=2, seed=1)
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path, index=False)
    sparse = findings(mlstablint.audit(path, target="y", thresholds={"max-design-columns": 50}))
    dense = findings(mlstablint.audit(path, target="y"))
    assert sparse["MSL603"]["groups"] == dense["MSL603"]["groups"]
    for key in ("rank", "columns", "null_directions"):
        assert sparse["MSL604"][key] == dense["MSL604"][key], key
    assert "MSL605" not in sparse


def test_too_dense_for_the_sparse_gram_is_skipped_with_a_reason(tmp_path: Path, monkeypatch: Any) -> None:
    from mlstablint.data import partials

    monkeypatch.setattr(partials, "SPARSE_GRAM_NONZEROS", 1000)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(300, 60)), columns=[f"c{j}" for j in range(60)])
    path = tmp_path / "dense.parquet"
    frame.to_parquet(path, index=False)
    report = mlstablint.audit(path, thresholds={"max-design-columns": 10})
    assert any("its Gram matrix is not sparse" in n for n in report.notes), report.notes
    assert not {"MSL603", "MSL604", "MSL605"} & {f.rule for f in report.findings}


@pytest.mark.parametrize("seed", [0, 1])
def test_groups_from_a_sparse_gram_are_those_from_the_dense_one(seed: int) -> None:
    frame = wide_onehot(rows=600, levels=[30, 12, 7, 3], copies=2, numeric=1, seed=seed)
    x = frame.drop(columns=["y", "x0", "mix"]).to_numpy(np.float64)
    ones_x = np.column_stack([np.ones(len(x)), x])
    gram = ones_x.T @ ones_x
    binary = list(range(x.shape[1]))
    dense = onehot.find_groups(gram, binary, len(x))
    assert onehot.find_groups(scipy.sparse.csr_matrix(gram), binary, len(x)) == dense
    assert onehot.find_groups_sparse(scipy.sparse.csr_matrix(gram), binary, len(x)) == dense
    assert len(dense[0]) == 4 and not dense[1]


def test_analyse_sparse_against_numpy_on_a_random_low_rank_design() -> None:
    """Not one-hot: integer columns with planted dependencies of known coefficients."""
    rng = np.random.default_rng(5)
    base = rng.integers(-3, 4, size=(400, 30)).astype(np.float64)
    x = np.column_stack([base, base[:, 0] + 2 * base[:, 1], base[:, 2] - base[:, 3] + base[:, 4], 3 * base[:, 5]])
    ones_x = np.column_stack([np.ones(len(x)), x])
    gram = scipy.sparse.csr_matrix(ones_x.T @ ones_x)
    cond = linalg.analyse_sparse(gram, len(x), True, list(range(ones_x.shape[1])), known_exact=0)
    assert cond.rank == np.linalg.matrix_rank(ones_x) == ones_x.shape[1] - 3
    assert len(cond.null_directions) == 3
    for d in cond.null_directions:
        v = np.zeros(ones_x.shape[1])
        v[d.columns] = d.coefficients
        assert np.linalg.norm(ones_x @ v) <= 1e-8 * np.linalg.norm(ones_x) * np.linalg.norm(v)
    full_rank = linalg.analyse_sparse(scipy.sparse.csr_matrix(gram[:31, :31]), len(x), True, list(range(31)), 0)
    assert full_rank.rank == 31 and not full_rank.null_directions
    s = np.linalg.svd(ones_x[:, :31] / np.linalg.norm(ones_x[:, :31], axis=0), compute_uv=False)
    assert full_rank.cond_equilibrated == pytest.approx(s[0] / s[-1], rel=1e-6)


@pytest.mark.parametrize("seed", [0, 3])
def test_null_space_through_the_schur_complement_is_numpys(seed: int, monkeypatch: Any) -> None:
    """The wide path eliminates columns that never share a row (a diagonal block) and factors the dense Schur
    complement of the others: forced here on a small design (SCHUR_CELLS below its size), its null space must
    be the one numpy's SVD of the equilibrated dense Gram matrix gives, and the groups the dense search's."""
    frame = wide_onehot(rows=800, levels=[60, 40, 25, 9], copies=3, numeric=2, seed=seed)
    x = frame.drop(columns=["y"]).to_numpy(np.float64)
    ones_x = np.column_stack([np.ones(len(x)), x])
    gram = ones_x.T @ ones_x
    norms = np.sqrt(np.diag(gram))
    scaled = gram / norms[:, None] / norms[None, :]
    monkeypatch.setattr(linalg, "SCHUR_CELLS", 120 * 120)  # below 141², above what is left
    chosen = linalg.disjoint_columns(scipy.sparse.csc_matrix(scaled))
    assert chosen.sum() >= 40 and (ones_x.shape[1] - chosen.sum()) ** 2 <= linalg.SCHUR_CELLS
    inner = np.flatnonzero(chosen)
    block = gram[np.ix_(inner, inner)]
    assert np.array_equal(block, np.diag(np.diag(block)))  # they never share a row
    basis, lam_max, smallest = linalg.sparse_null_space(scipy.sparse.csc_matrix(scaled))
    s = np.linalg.svd(scaled, compute_uv=False, hermitian=True)
    reference = scipy.linalg.null_space(scaled, rcond=len(s) * np.finfo(np.float64).eps)
    # 4 one-hot groups, 3 copies, 1 mix: 8 directions, the same subspace as numpy's.
    assert basis.shape[1] == reference.shape[1] == 8
    assert np.abs(basis @ basis.T - reference @ reference.T).max() < 1e-8
    assert lam_max == pytest.approx(s[0], rel=1e-6)
    # S's smallest eigenvalue above the null tolerance, though the Schur complement's eigenvalues are not S's.
    tol = s[0] * len(s) * np.finfo(np.float64).eps
    assert smallest == pytest.approx(s[s > tol].min(), rel=1e-6)
    binary = [j for j in range(x.shape[1]) if set(np.unique(x[:, j])) == {0.0, 1.0}]
    sparse = scipy.sparse.csr_matrix(gram)
    assert onehot.find_groups_sparse(sparse, binary, len(x)) == onehot.find_groups(gram, binary, len(x))


def test_condition_number_through_the_schur_complement_is_numpys(monkeypatch: Any) -> None:
    """A full-rank wide design (one level of each group left out, no copies): the Schur path's smallest
    eigenvalue is the equilibrated Gram matrix's, so its condition number is numpy's SVD's of the design."""
    frame = wide_onehot(rows=800, levels=[60, 40, 25, 9], copies=0, numeric=2, seed=2)
    kept = [c for c in frame.columns if c not in ("y", "mix") and not c.endswith("_0")]
    ones_x = design(frame, ["(intercept)", *kept])
    gram = ones_x.T @ ones_x
    monkeypatch.setattr(linalg, "SCHUR_CELLS", 110 * 110)  # below 133², above what is left
    cond = linalg.analyse_sparse(scipy.sparse.csr_matrix(gram), len(frame), True, list(range(ones_x.shape[1])), 0)
    equilibrated = ones_x / np.linalg.norm(ones_x, axis=0)
    s = np.linalg.svd(equilibrated, compute_uv=False)
    assert cond.rank == np.linalg.matrix_rank(ones_x) == ones_x.shape[1]
    assert cond.cond_equilibrated == pytest.approx(s[0] / s[-1], rel=1e-6)
    # The elimination did happen: some columns were eliminated, and what was left fits SCHUR_CELLS.
    scaled, _norms = linalg.equilibrated(scipy.sparse.csr_matrix(gram))
    chosen = linalg.disjoint_columns(scaled)
    assert chosen.sum() > 0 and (len(chosen) - chosen.sum()) ** 2 <= linalg.SCHUR_CELLS


def test_sparse_gram_summed_over_many_blocks_is_numpys(monkeypatch: Any) -> None:
    """Blocks' products summed as a binary counter and folded into the total in small steps (the fold size
    forced down here so that every path runs): the result is numpy's XᵀX of the whole design."""
    from mlstablint.data import partials

    monkeypatch.setattr(partials, "SPARSE_FOLD_NONZEROS", 2000)
    folds = []
    fold = partials.SparseGram._fold

    def counted(self: Any) -> None:
        folds.append(self.nonzeros)
        fold(self)

    monkeypatch.setattr(partials.SparseGram, "_fold", counted)
    frame = wide_onehot(rows=3000, levels=[50, 30, 7], copies=2, numeric=2, seed=4)
    x = frame.drop(columns=["y"]).to_numpy(np.float64)
    ones_x = np.column_stack([np.ones(len(x)), x])
    gram = partials.SparseGram(ones_x.shape[1])
    sizes = np.random.default_rng(4).integers(1, 120, 200)
    start = 0
    for size in sizes:
        block = ones_x[start:start + size]
        # Fortran-ordered as pass 1's blocks are, and C-ordered too.
        gram.add_block(np.asfortranarray(block) if size % 2 else np.ascontiguousarray(block))
        start += size
        if start >= len(ones_x):
            break
    assert start >= len(ones_x)
    total = gram.result()
    assert len(folds) > 5 and folds[-1] > 0  # folded into a nonempty total many times
    reference = ones_x.T @ ones_x
    assert total.shape == reference.shape and total.nnz == np.count_nonzero(reference)
    dense = total.toarray()
    binary = slice(1, x.shape[1] - 2)  # intercept and dummies: counts, exact
    assert np.array_equal(dense[binary, binary], reference[binary, binary])
    assert np.allclose(dense, reference, rtol=1e-12, atol=1e-9 * np.abs(reference).max())
