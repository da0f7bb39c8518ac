"""Rank, null directions and conditioning of a design, from any F with FᵀF = XᵀX.

F is either R_e·D, R_e the Cholesky factor of the column-equilibrated Gram matrix and D the
column norms (when the equilibrated design is well enough conditioned for its Gram matrix to keep
the digits: below 1e4, since the Gram squares it), or the R factor of a streamed TSQR. F has X's
singular values and right singular vectors, and F[:, S] has those of
X[:, S] for any column subset S, so every figure here is X's without X ever being formed.

- cond(X) = σmax / σmin (2-norm, as `numpy.linalg.cond`), raw and column-equilibrated (columns
  scaled to unit 2-norm, Belsley's scaling; van der Sluis: within √p of the best diagonal scaling);
- numerical rank with `numpy.linalg.matrix_rank`'s tolerance, σmax · max(M, N) · eps, on the
  equilibrated design (so that a column's units do not decide whether it counts);
- null directions in a sparse basis: a column-pivoted QR of the null-space basis picks one pivot
  column per direction and expresses it through the others;
- Belsley, Kuh & Welsch (1980) condition indices σmax/σk of the equilibrated, full-rank design and
  their variance-decomposition proportions;
- variance inflation factors from the centred cross-products (the intercept is always column 0 of F).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlstablint.data.partials import on_one_blas_thread, r_factor

F64 = NDArray[np.float64]
EPS = float(np.finfo(np.float64).eps)
# Condition number of the column-equilibrated design below which its Gram matrix is trusted. The Gram
# matrix squares the condition number, but only that of the equilibrated design matters: the rounding
# errors of XᵀX and of its Cholesky factor are small relative to the column norms (van der Sluis;
# Demmel), so bad column scales alone do not call for TSQR.
GRAM_COND_LIMIT = 1e4


def cond_of(s: NDArray[np.floating[Any]]) -> float:
    if s.size == 0 or s[0] == 0:
        return float("nan")
    return float(s[0] / s[-1]) if s[-1] > 0 else float("inf")


@on_one_blas_thread
def factor_from_gram(gram: F64) -> F64 | None:
    """F = R_e · D with R_e the Cholesky factor of the equilibrated Gram matrix D⁻¹ G D⁻¹ (D the column
    norms), when the equilibrated design is well conditioned; else None (use TSQR)."""
    if not np.isfinite(gram).all():
        return None
    d = np.sqrt(np.diag(gram))
    if not (d > 0).all():
        return None
    scaled = gram / d[:, None] / d[None, :]
    lam = np.linalg.eigvalsh(scaled)
    if lam[-1] <= 0 or lam[0] <= lam[-1] / GRAM_COND_LIMIT**2:
        return None
    try:
        r = np.linalg.cholesky(scaled).T
    except np.linalg.LinAlgError:
        return None
    return np.asarray(r * d[None, :])


@dataclass
class NullDirection:
    columns: list[int]  # indices into the model's columns; the pivot first
    coefficients: list[float]  # raw units, pivot coefficient 1: Σ c_j x_j ≈ 0


@dataclass
class ConditionIndex:
    index: float
    proportions: list[tuple[int, float]]  # (model column, variance-decomposition proportion)


@dataclass
class Conditioning:
    columns: int  # in the model (intercept included when it is)
    rows: int  # rows used (complete cases)
    cond: float
    cond_equilibrated: float
    rank: int
    null_directions: list[NullDirection] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)  # model columns of the full-rank reduced design
    cond_reduced: float = float("nan")
    cond_reduced_equilibrated: float = float("nan")
    condition_indices: list[ConditionIndex] = field(default_factory=list)
    vif: list[tuple[int, float]] = field(default_factory=list)  # (model column, VIF) above the threshold
    max_vif: float = float("nan")
    # The spectra behind the figures above, for charts (descending): the model design's singular values
    # raw and column-equilibrated, and the numerical-rank cut-off on the equilibrated ones.
    singular_values: list[float] = field(default_factory=list)
    singular_values_equilibrated: list[float] = field(default_factory=list)
    rank_tolerance: float = float("nan")
    # Every Belsley condition index of the reduced equilibrated design (ascending, 1 first), and the full
    # variance-decomposition proportions of those above the threshold, as (index, proportions) with
    # proportions[j] column kept[j]'s share of its variance carried by that index (`condition_indices`
    # keeps only the columns above `variance_proportion`).
    all_condition_indices: list[float] = field(default_factory=list)
    variance_proportions: list[tuple[float, list[float]]] = field(default_factory=list)


def _tolerance(s: F64, rows: int, cols: int) -> float:
    """`numpy.linalg.matrix_rank`'s cut-off: σmax · max(M, N) · eps."""
    return float(s[0] * max(rows, cols) * EPS) if s.size else 0.0


def _rank(s: F64, rows: int, cols: int) -> int:
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.count_nonzero(s > _tolerance(s, rows, cols)))


def column_norms(a: F64) -> Any:
    """2-norm of each column without overflow: |x| near 1e300 squares to inf (a false dependency followed)."""
    scale = np.abs(a).max(axis=0) if a.shape[0] else np.zeros(a.shape[1])
    safe = np.where(scale > 0, scale, 1.0)
    return np.linalg.norm(a / safe, axis=0) * scale


@on_one_blas_thread
def analyse(full: F64, rows: int, intercept: bool, exact_drops: list[int], *, condition_index: float,
            variance_proportion: float, vif: float, known_exact: int = 0) -> Conditioning:
    """Conditioning of the model design.

    `full` is F for [1 | X] (column 0 the intercept). The model's columns are [1 | X] or X
    (without intercept); `exact_drops` are model-column indices already explained (one level per
    one-hot group, constant and all-zero columns) that are removed before looking for other
    null directions. `known_exact` counts columns already left out of `full` because they are exact
    combinations of the others: the design as given is then singular (condition number ∞) and has
    that many more columns than `full`, with the same rank.
    """
    model = full if intercept else full[:, 1:]
    offset = 0 if intercept else 1  # model column k is full column k + offset
    n_cols = model.shape[1]
    s = np.linalg.svd(model, compute_uv=False)
    norms = column_norms(model)
    norms[norms == 0] = 1.0
    scaled = model / norms
    s_eq = np.linalg.svd(scaled, compute_uv=False)
    out = Conditioning(columns=n_cols + known_exact, rows=rows, cond=cond_of(s), cond_equilibrated=cond_of(s_eq),
                       rank=_rank(s_eq, rows, n_cols), singular_values=[float(v) for v in s],
                       singular_values_equilibrated=[float(v) for v in s_eq],
                       rank_tolerance=_tolerance(s_eq, rows, n_cols))
    if known_exact or exact_drops:
        out.cond = out.cond_equilibrated = float("inf")

    dropped = set(exact_drops)
    keep = [k for k in range(n_cols) if k not in dropped]
    if keep:
        _u, sk, vt = np.linalg.svd(scaled[:, keep], full_matrices=False)
        rk = _rank(sk, rows, len(keep))
        if rk < len(keep):
            directions, pivots = _sparse_null_basis(vt[rk:], norms[keep])
            out.null_directions = [NullDirection([keep[i] for i in cols], coefs) for cols, coefs in directions]
            pivot_set = set(pivots)
            keep = [k for i, k in enumerate(keep) if i not in pivot_set]
    out.kept = keep
    if not keep:
        return out
    out.cond_reduced = cond_of(np.linalg.svd(model[:, keep], compute_uv=False))
    _u, sr, vt = np.linalg.svd(scaled[:, keep], full_matrices=False)
    out.cond_reduced_equilibrated = cond_of(sr)
    if sr[-1] > 0:
        phi = (vt.T / sr) ** 2  # phi[j, k] = v_jk² / σ_k²
        pi = phi / phi.sum(axis=1, keepdims=True)
        out.all_condition_indices = [float(sr[0] / v) for v in sr]
        for k in range(len(sr)):
            eta = float(sr[0] / sr[k])
            if eta <= condition_index:
                continue
            out.variance_proportions.append((eta, [float(v) for v in pi[:, k]]))
            order = np.argsort(-pi[:, k], kind="stable")
            high = [int(j) for j in order if pi[j, k] > variance_proportion]
            if len(high) < 2:
                high = [int(j) for j in order[:2]]
            out.condition_indices.append(ConditionIndex(eta, [(keep[j], float(pi[j, k])) for j in high]))
        out.condition_indices.sort(key=lambda c: -c.index)
    vifs = _vif(full, [k + offset for k in keep if k + offset != 0])
    if vifs:
        out.max_vif = max(v for _c, v in vifs)
        out.vif = sorted(((c - offset, v) for c, v in vifs if v > vif), key=lambda cv: (-cv[1], cv[0]))
    return out


def _sparse_null_basis(null_rows: F64, norms: F64) -> tuple[list[tuple[list[int], list[float]]], list[int]]:
    """One dependency per null direction: pivot column = combination of non-pivot columns."""
    d = null_rows.shape[0]
    pivots = _pivots(null_rows, d)
    basis = np.linalg.solve(null_rows[:, pivots], null_rows)  # basis[:, pivots] = I
    directions = []
    for i, p in enumerate(pivots):
        row = basis[i]
        involved = [int(j) for j in np.flatnonzero(np.abs(row) > 1e-6 * np.abs(row).max())]
        raw = row / norms
        raw = raw / raw[p]
        cols = [p, *[j for j in involved if j != p]]
        directions.append((cols, [float(raw[j]) for j in cols]))
    return directions, pivots


def _pivots(rows: F64, count: int) -> list[int]:
    """The first `count` pivots of a QR factorisation with column pivoting (Businger-Golub), ties (within
    1e-6 relative) going to the lowest column: exact ties, such as a column and its copy, are then not
    decided by rounding, which differs with the order the Gram matrix was summed in."""
    work = np.array(rows, dtype=np.float64)
    pivots: list[int] = []
    for _ in range(count):
        norms = np.linalg.norm(work, axis=0)
        norms[pivots] = -1.0
        pivot = int(np.flatnonzero(norms >= norms.max() * (1 - 1e-6))[0])
        pivots.append(pivot)
        q = work[:, pivot] / np.linalg.norm(work[:, pivot])
        work -= np.outer(q, q @ work)
    return pivots


def _vif(full: F64, columns: list[int]) -> list[tuple[int, float]]:
    """VIF_j = 1 / (1 - R_j²) = diag(inv(correlation))_j, from the R of [1 | X_cols] (centring = QR step)."""
    if len(columns) < 2:
        return []
    import scipy.linalg

    r = r_factor(full[:, [0, *columns]].copy())[1:, 1:]
    norms = column_norms(r)
    ok = norms > 0
    if not ok.all():  # constant columns: no variance to inflate
        r = r_factor(r[:, ok].copy())
        norms = norms[ok]
        columns = [c for c, good in zip(columns, ok, strict=True) if good]
    if len(columns) < 2:
        return []
    rc = r / norms
    if np.abs(np.diag(rc)).min() == 0:
        return []
    inv = scipy.linalg.solve_triangular(rc, np.eye(rc.shape[0]))
    return [(c, float(v)) for c, v in zip(columns, (inv * inv).sum(axis=1), strict=True)]


# ----------------------------------------------------------------------------------------------
# Wide sparse designs (one-hot with thousands of levels): rank and null directions from a sparse Gram


NULL_ROUND = 16  # eigenpairs asked of ARPACK per round
NULL_MAX = 512  # null directions looked for at most
SHIFT = 1e-8  # the shift δ (relative to λmax) that makes the equilibrated Gram matrix invertible


def _round(inverse: Any, basis: F64, k: int, seed: int) -> F64:
    """The eigenvectors of the k largest eigenvalues of P (S + δI)⁻¹ P, P the projector off the columns of
    `basis` (deflation: the directions already found are not found again, repeated eigenvalues included)."""
    import scipy.sparse.linalg as spla

    n = inverse.shape[0]

    def project(v: F64) -> F64:
        return v - basis @ (basis.T @ v) if basis.shape[1] else v

    def apply(v: F64) -> F64:
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        return project(inverse.solve(project(v)))

    op = spla.LinearOperator((n, n), matvec=apply, dtype=np.float64)
    start = project(np.random.default_rng(seed).standard_normal(n))
    _mu, vecs = spla.eigsh(op, k=k, which="LA", v0=start, tol=0.0, ncv=min(n, max(2 * k + 1, 20)))
    out: F64 = np.asarray(vecs, dtype=np.float64)
    return out


def equilibrated(gram: Any) -> tuple[Any, F64]:
    """S = D⁻¹ G D⁻¹ (CSC) of a sparse Gram matrix, and D (column norms, 1 for a zero column)."""
    import scipy.sparse

    norms = np.sqrt(np.asarray(gram.diagonal(), dtype=np.float64))
    norms[norms == 0] = 1.0
    scale = scipy.sparse.diags(1.0 / norms)
    return (scale @ gram @ scale).tocsc(), norms


# Cells of the dense Schur complement `sparse_null_space` factors at most (128 MB of float64); past it,
# the sparse LU of the whole matrix.
SCHUR_CELLS = 1 << 24


@on_one_blas_thread
def sparse_null_space(s: Any, smallest: bool = True) -> tuple[F64, float, float]:
    """An orthonormal basis (columns) of the null space of a sparse symmetric positive semi-definite S, its
    largest eigenvalue, and its smallest eigenvalue above the null tolerance (NaN when not asked for
    (`smallest=False`) or not known: S has more than NULL_MAX null directions, or none was seen).

    The tolerance is `numpy.linalg.matrix_rank`'s for a Hermitian matrix, λmax · columns · eps (a Gram matrix
    carries no more digits). A wide one-hot design has many columns that never share a row: among them S is
    diagonal. Those columns (`disjoint_columns`, I) are eliminated exactly: S is singular along v exactly when
    the Schur complement C = S_RR − S_RI S_II⁻¹ S_IR of the others (R) is along v_R, with v_I = −S_II⁻¹ S_IR v_R,
    and vᵀSv = v_Rᵀ C v_R. C is formed densely a block of columns at a time, and its smallest eigenpairs come
    from LAPACK (`eigh`, MRRR, the selected vectors only): memory |R|² floats, where the sparse LU of S fills in
    towards |I ∪ R|² (its levels co-occur at random: the elimination graph is an expander). When |R|² exceeds
    SCHUR_CELLS, the sparse LU (`_null_space_lu`); when S itself is no larger, S is factored densely. C's
    eigenvalues are not S's (interlacing bounds them only): S's smallest comes from `_smallest_above_null`.
    """
    import scipy.linalg
    import scipy.sparse
    import scipy.sparse.linalg as spla

    n = s.shape[0]
    if n <= 2:
        lam, vecs = np.linalg.eigh(s.toarray())
        tol = float(lam[-1]) * n * EPS
        above = lam[lam > tol]
        return vecs[:, lam <= tol], float(lam[-1]), float(above[0]) if above.size else float("nan")
    lam_max = float(spla.eigsh(s, k=1, which="LA", return_eigenvectors=False, tol=1e-6)[0])
    tol = lam_max * n * EPS
    s = scipy.sparse.csc_matrix(s)
    # Small enough for S itself: nothing eliminated, and the smallest eigenvalue is S's.
    chosen = disjoint_columns(s) if n * n > SCHUR_CELLS else np.zeros(n, dtype=bool)
    inner, rest = np.flatnonzero(chosen), np.flatnonzero(~chosen)
    if rest.size * rest.size > SCHUR_CELLS or rest.size == 0:
        return _null_space_lu(s, lam_max, tol)
    d_inner = s.diagonal()[inner]
    s_ir = s[rest][:, inner].T.tocsc()
    k = min(rest.size, NULL_MAX + 1)
    # Its lower triangle only (the upper one differs from it in the last bits).
    lam, vecs = scipy.linalg.eigh(_schur(s, inner, rest, d_inner), lower=True, overwrite_a=True,
                                  check_finite=False, subset_by_index=[0, k - 1], driver="evr")
    null = lam <= tol
    above = lam[~null]
    least = float(above[0]) if above.size and not inner.size else float("nan")
    v_rest = vecs[:, null]
    del vecs
    found = np.empty((n, 0))
    if v_rest.shape[1]:
        full = np.zeros((n, min(NULL_MAX, v_rest.shape[1])))
        full[rest] = v_rest[:, :NULL_MAX]
        full[inner] = -np.asarray(s_ir @ full[rest]) / d_inner[:, None]
        found, _r = np.linalg.qr(full)
    if smallest and inner.size:
        least = _smallest_above_null(s, inner, rest, d_inner, v_rest, found)
    return found, lam_max, least


def _schur(s: Any, inner: NDArray[np.intp], rest: NDArray[np.intp], d_inner: F64) -> F64:
    """C = S_RR − S_RI S_II⁻¹ S_IR (dense, |R|²), S_II = diag(d_inner) the eliminated columns' block."""
    import scipy.sparse

    s_rows = s[rest]
    schur: F64 = s_rows[:, rest].toarray(order="F")  # LAPACK's order: eigh and potrf work in it, not on a copy
    if inner.size:
        s_ri = s_rows[:, inner].tocsr()
        s_ir = s_ri.T.tocsc()
        w = (s_ri @ scipy.sparse.diags(1.0 / d_inner)).tocsr()  # S_RI S_II⁻¹
        for start in range(0, rest.size, 256):  # the product a block of columns at a time: it is nearly dense
            block = slice(start, start + 256)
            schur[:, block] -= w @ s_ir[:, block].toarray()
    return schur


def _smallest_above_null(s: Any, inner: NDArray[np.intp], rest: NDArray[np.intp], d_inner: F64, v_rest: F64,
                         found: F64) -> float:
    """S's smallest eigenvalue above the null tolerance, through the elimination of the I columns: 1 / the
    largest eigenvalue of S⁺ (Lanczos, ARPACK). With L = [[I, 0], [S_RI S_II⁻¹, I]], S = L diag(S_II, C) Lᵀ, and
    G = L⁻ᵀ diag(S_II⁻¹, (C + V Vᵀ)⁻¹) L⁻¹ (V: C's null vectors, so (C + V Vᵀ)⁻¹ = C⁺ + V Vᵀ) satisfies S G S = S;
    for any such G, P G P = S⁺ with P the projector off S's null space (`found`). C is formed again (eigh
    overwrote it): memory stays |R|². NaN when C has null vectors beyond NULL_MAX (V incomplete)."""
    import scipy.linalg
    import scipy.sparse.linalg as spla

    if v_rest.shape[1] > NULL_MAX:
        return float("nan")
    c = _schur(s, inner, rest, d_inner)
    for first in range(0, rest.size, 256):  # C + V Vᵀ a block of columns at a time (no second |R|² array)
        block = slice(first, first + 256)
        c[:, block] += v_rest @ v_rest[block].T
    factor = scipy.linalg.cho_factor(c, lower=True, overwrite_a=True, check_finite=False)
    s_ri = s[rest][:, inner].tocsr()
    s_ir = s_ri.T.tocsr()
    n = s.shape[0]

    def project(v: F64) -> F64:
        return v - found @ (found.T @ v) if found.shape[1] else v

    def apply(v: F64) -> F64:
        b = project(np.asarray(v, dtype=np.float64).reshape(-1))
        u_inner = b[inner] / d_inner
        y_rest = scipy.linalg.cho_solve(factor, b[rest] - s_ri @ u_inner, check_finite=False)
        out = np.empty(n)
        out[rest] = y_rest
        out[inner] = u_inner - (s_ir @ y_rest) / d_inner
        return project(out)

    op = spla.LinearOperator((n, n), matvec=apply, dtype=np.float64)
    start = project(np.random.default_rng(0).standard_normal(n))
    mu = float(spla.eigsh(op, k=1, which="LA", v0=start, tol=1e-10, return_eigenvectors=False)[0])
    return 1.0 / mu if mu > 0 else float("nan")


def disjoint_columns(s: Any) -> NDArray[np.bool_]:
    """Columns of S (sparse) that pairwise have no nonzero in common — among them S is diagonal — and a
    nonzero diagonal, chosen greedily by fewest nonzeros (most columns)."""
    pattern = s.tocsr()
    n = pattern.shape[0]
    diagonal = pattern.diagonal()
    degree = np.diff(pattern.indptr)
    chosen = np.zeros(n, dtype=bool)
    blocked = diagonal == 0
    for j in np.argsort(degree, kind="stable"):
        if blocked[j]:
            continue
        chosen[j] = True
        row = slice(pattern.indptr[j], pattern.indptr[j + 1])
        blocked[pattern.indices[row][pattern.data[row] != 0]] = True
    return chosen


def _null_space_lu(s: Any, lam_max: float, tol: float) -> tuple[F64, float, float]:
    """`sparse_null_space` through the sparse LU of S: S is factored once, shifted by δ = 1e-8 λmax (SuperLU),
    and ARPACK finds the largest eigenvalues of (S + δI)⁻¹, i.e. S's smallest, a round at a time, each round
    deflated of the directions found before. A direction v is null when vᵀSv ≤ `tol`."""
    import scipy.sparse
    import scipy.sparse.linalg as spla

    n = s.shape[0]
    found = np.empty((n, 0))
    smallest = float("nan")
    # S + δI is symmetric positive definite: a symmetric fill-reducing ordering and no pivoting (measured on
    # a 5,000-column one-hot design: 9.0M nonzeros in L + U against COLAMD's 24M, in half the time).
    inverse = spla.splu((s + SHIFT * lam_max * scipy.sparse.identity(n, format="csc")).tocsc(),
                        permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    while found.shape[1] < min(NULL_MAX, n - 1):
        vecs = _round(inverse, found, min(NULL_ROUND, n - 1 - found.shape[1]), seed=found.shape[1])
        quotients = np.einsum("ij,ij->j", vecs, s @ vecs)
        null = quotients <= tol
        if not null.all():
            smallest = float(quotients[~null].min())
        if not null.any():
            break
        # Another round even when this one also found non-null directions: ARPACK can miss copies of a
        # repeated eigenvalue, and the deflated operator no longer has the ones found.
        found, _r = np.linalg.qr(np.hstack([found, vecs[:, null]]))
    return found, lam_max, smallest


def analyse_sparse(gram: Any, rows: int, intercept: bool, full_cols: list[int], known_exact: int) -> Conditioning:
    """Rank and null directions of the model design from the sparse Gram matrix of [1 | X] (scipy.sparse),
    restricted to `full_cols` (column 0 the intercept, the design's kept columns after): the null space of
    the equilibrated Gram matrix (`sparse_null_space`), then the dense path's sparse basis (one pivot column
    per direction). Condition indices and VIFs need the dense factor: they are not computed (`kept` empty).
    """
    import scipy.sparse

    g = scipy.sparse.csr_matrix(gram)[full_cols][:, full_cols]
    model = g if intercept else g[1:, 1:]
    s, norms = equilibrated(model)
    # The smallest eigenvalue serves the condition number only, which is infinite with a known exact dependency.
    found, lam_max, smallest = sparse_null_space(s, smallest=known_exact == 0)
    n_cols, d = model.shape[0], found.shape[1]
    out = Conditioning(columns=n_cols + known_exact, rows=rows, cond=float("nan"), cond_equilibrated=float("nan"),
                       rank=n_cols - d)
    if d:
        directions, _pivots = _sparse_null_basis(found.T, norms)
        out.null_directions = [NullDirection(cols, coefs) for cols, coefs in directions]
    if known_exact or d:
        out.cond = out.cond_equilibrated = float("inf")
    elif smallest > 0:
        out.cond_equilibrated = float(np.sqrt(lam_max / smallest))
    return out
