"""The overflow experiments: `exp` of the table's flagged columns ("exp-of-values", MSL607) and of OLS
predictions on the table ("exp-of-predictions", the code's MSL109 when a table is audited).

exp-of-values: for each column the finding lists (up to 20), `np.exp` of its sampled finite values
in float32 and in float64, counting inf; the mitigation arm is `np.exp(np.clip(v, -L, L))` with
L = floor(log(largest finite number of the dtype)) (709 for float64, 88 for float32).

exp-of-predictions: OLS fitted on the conditioning sweep's design (see ols-conditioning) by
`scipy.linalg.lstsq` (gelsd) and by the normal-equations inverse `inv(X.T @ X) @ X.T @ y`, in float32
and float64; `np.exp(X @ w)` on the sampled rows, counting inf, against the same clipped form.
Without a table, or when the flagged argument is raw data rather than a product or a prediction
(the column is not known), MSL109 falls back to the pattern at the dtype's edge (edge-of-dtype).

Verdict: `confirmed` when some raw arm gives inf and no mitigation arm does; `not-confirmed`
otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlstablint.findings import Confirmation, Finding
from mlstablint.sweep.confirm import Session, Skip, Table, clean, fmt, needs_data, one_thread, verdict

DTYPES = ("float64", "float32")
MAX_COLUMNS = 20


def _limit(dtype: str) -> float:
    return float(np.floor(np.log(np.finfo(dtype).max)))


def _count_inf(v: Any) -> int:
    with np.errstate(all="ignore"):
        return int(np.count_nonzero(np.isinf(np.exp(v))))


def _clipped_inf(v: Any, dtype: str) -> int:
    limit = _limit(dtype)
    with np.errstate(all="ignore"):
        return int(np.count_nonzero(np.isinf(np.exp(np.clip(v, -limit, limit)))))


# ------------------------------------------------------------------------------------------------
# MSL607


def confirm_exp_values(session: Session, finding: Finding) -> Confirmation:
    experiment = "exp-of-values"
    table = session.table_for(finding)
    if table is None:
        return needs_data(experiment)
    sample = session.sample(table)
    listed = finding.evidence.get("columns")
    names = list(listed)[:MAX_COLUMNS] if isinstance(listed, dict) else []
    index = {name: j for j, name in enumerate(sample.columns)}
    columns: dict[str, Any] = {}
    raw_inf = mitigated_inf = 0
    for name in names:
        if name not in index:
            continue
        v64 = sample.X[:, index[name]]
        v64 = v64[np.isfinite(v64)]
        entry: dict[str, Any] = {"values": int(v64.size)}
        for dtype in DTYPES:
            v = v64.astype(dtype)
            inf, clipped = _count_inf(v), _clipped_inf(v, dtype)
            entry[dtype] = {"exp_inf": inf, "clipped_exp_inf": clipped}
            raw_inf += inf
            mitigated_inf += clipped
        columns[name] = entry
    if not columns:
        raise Skip("none of the flagged columns is in the sampled design")
    figures = clean({"rows": sample.rows, "table_rows": sample.table_rows,
                     "clip_limits": {d: _limit(d) for d in DTYPES}, "columns": columns})
    first = next(iter(columns))
    e = columns[first]
    summary = (f"exp of the sampled values ({sample.rows} rows): {first!r} gives inf on {e['float64']['exp_inf']}/"
               f"{e['values']} values in float64 and {e['float32']['exp_inf']} in float32"
               + (f", {len(columns) - 1} more column(s) checked" if len(columns) > 1 else "")
               + f"; clipped to ±{_limit('float64'):g} / ±{_limit('float32'):g}: "
               + ("no inf" if not mitigated_inf else f"{mitigated_inf} inf"))
    return Confirmation(verdict(raw_inf > 0 and mitigated_inf == 0), experiment, figures, summary)


# ------------------------------------------------------------------------------------------------
# MSL109


PREDICTION_KINDS = ("a matrix product", "a linear predictor", "a model prediction")


def confirm_unguarded_exp(session: Session, finding: Finding) -> Confirmation | None:
    kind = str(finding.evidence.get("argument") or "")
    table = session.table_for(finding)
    if table is None or kind not in PREDICTION_KINDS:
        from mlstablint.sweep.confirm_patterns import confirm_pattern

        return confirm_pattern(session, finding)
    result: Confirmation = session.shared("exp-of-predictions", table, lambda: _predictions(session, table))
    return result


def _predictions(session: Session, table: Table) -> Confirmation:
    import scipy.linalg

    from mlstablint.sweep.confirm_conditioning import problem_of

    experiment = "exp-of-predictions"
    problem = session.shared("ols-problem", table, lambda: problem_of(session, table))
    arms: dict[str, Any] = {}
    raw_inf = mitigated_inf = 0
    with one_thread(), np.errstate(all="ignore"):
        for solver in ("lstsq", "inv"):
            for dtype in DTYPES:
                X = problem.X.astype(dtype)
                y = problem.y.astype(dtype)
                try:
                    if solver == "lstsq":
                        w = scipy.linalg.lstsq(X, y, lapack_driver="gelsd")[0]
                    else:
                        w = np.linalg.inv(X.T @ X) @ (X.T @ y)
                except (np.linalg.LinAlgError, ValueError):
                    arms[f"{solver}/{dtype}"] = {"status": "singular"}
                    continue
                pred = X @ w
                inf, clipped = _count_inf(pred), _clipped_inf(pred, dtype)
                finite = pred[np.isfinite(pred)]
                arms[f"{solver}/{dtype}"] = {"status": "ok", "exp_inf": inf, "clipped_exp_inf": clipped,
                                             "max_prediction": float(finite.max()) if finite.size else None}
                raw_inf += inf
                mitigated_inf += clipped
    if not arms:
        raise Skip("no OLS fit ran")
    rows = int(problem.X.shape[0])
    figures = clean({"rows": rows, "target": problem.target, "clip_limits": {d: _limit(d) for d in DTYPES},
                     "arms": arms})

    def text(key: str) -> str:
        a = arms.get(key, {})
        return "singular" if a.get("status") != "ok" else f"{a['exp_inf']}"

    summary = (f"exp of OLS predictions on {rows} sampled rows, count of inf: lstsq {text('lstsq/float64')} (float64), "
               f"{text('lstsq/float32')} (float32); inv of the Gram {text('inv/float64')} (float64), "
               f"{text('inv/float32')} (float32); largest lstsq prediction "
               f"{fmt(arms.get('lstsq/float64', {}).get('max_prediction'))}; clipped to ±{_limit('float64'):g} / "
               f"±{_limit('float32'):g}: {'no inf' if not mitigated_inf else f'{mitigated_inf} inf'}")
    return Confirmation(verdict(raw_inf > 0 and mitigated_inf == 0), experiment, figures, summary)
