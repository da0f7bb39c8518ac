"""MSL3xx: data leakage in code — a statistic, a resampling or the target learned from rows that are
later split into train and test, a fit on the test rows, the test set used to choose the model.

Every rule asks the file's leakage flow (`mlstablint.code.dataflow`) what a value carries; the
flow is fed by all of them (idempotently), so any subset of the family can be selected. A rule
reports only where a split is in sight: a learned statistic with no split after it is left alone.
"""

from __future__ import annotations

import functools
from pathlib import PurePosixPath
from typing import ClassVar

import libcst as cst

from mlstablint.code import words
from mlstablint.code.apis import LIBRARY_ROOTS
from mlstablint.code.dataflow import (
    CONTAINERS,
    COPIES,
    LABEL_ENCODERS,
    LEARNERS,
    OVERSAMPLERS,
    SEARCHES,
    SPLIT_WORDS,
    SUPERVISED,
    TARGET_LEARNERS,
    Flow,
    Learn,
    LearnKind,
    Split,
    flow_of,
    is_test_name,
    nodes_in,
    train_counterpart,
)
from mlstablint.code.exprs import source
from mlstablint.code.names import dotted
from mlstablint.code.rule import CodeRule
from mlstablint.code.rules.common import shorten
from mlstablint.code.walk import visit
from mlstablint.code.words import Group

LEAK_LIBRARIES = LIBRARY_ROOTS | {"imblearn", "xgboost", "lightgbm", "catboost", "category_encoders"}
_SELECTING_CALLBACKS = ("EarlyStopping", "early_stopping")
_CHECKPOINTS = ("ModelCheckpoint",)
_SELECT_FUNCS = frozenset({"builtins.max", "builtins.min", "builtins.sorted", "numpy.argmax", "numpy.argmin",
                           "numpy.max", "numpy.min", "numpy.argsort", "numpy.nanargmax"})
_SELECT_METHODS = frozenset({"idxmax", "idxmin", "argmax", "argmin", "index", "nlargest", "sort_values"})
# Every finding but MSL303's by name needs a split in the file (`Flow.split_of`, dataflow.SPLIT_WORDS): a split
# or CV function, a splitter's `.split`, a search's `.fit`, or a helper (of the file, or of another module whose
# summary splits: summaries.py gives its call these words) that calls one.
# Wrappers around a container of scores that a selection looks through (`pd.Series(results).idxmax()`).
_CONTAINER_FUNCS = frozenset({"numpy.array", "numpy.asarray", "pandas.Series", "pandas.DataFrame", "builtins.list",
                              "builtins.dict"})
# Gradient-boosting training functions that take evaluation sets (`evals`, `valid_sets`).
_BOOSTER_TRAIN = frozenset({"xgboost.train", "lightgbm.train", "catboost.train"})
# What a loop that fits a model per pass chooses: (what each test score was computed for, what was chosen).
_MODELS = ("several models", "the model")


_TEST_PARTS = frozenset({"tests", "test", "testing"})


@functools.cache
def is_test_file(path: str) -> bool:
    """Unit tests (`tests/`, `test_*.py`, `*_test.py`, `conftest.py`): they assert on scores, they do not
    report them as estimates, and fit on whole fixtures on purpose; the leakage family leaves them alone."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    name = parts[-1] if parts else ""
    return (bool(_TEST_PARTS.intersection(parts[:-1])) or name.startswith("test_") or name == "conftest.py"
            or name.endswith("_test.py"))


def _first_line(node: cst.CSTNode) -> str:
    return " ".join(source(node).strip().splitlines()[0].split()) if source(node).strip() else ""


class _LeakRule(CodeRule):
    """Feeds the shared flow on every node it needs; subclasses add their checks in the `on_*` hooks."""

    libraries = LEAK_LIBRARIES
    # The hazard is a call's effect (`scaler.fit(X)` as a statement learns from the rows), not a value.
    value_hazard = False
    requires: ClassVar[tuple[Group, ...]] = (SPLIT_WORDS,)
    # The split the flow needs is in the function or class that learns, or in one that calls it.
    requires_nearby: ClassVar[tuple[frozenset[str], ...]] = (SPLIT_WORDS,)

    @classmethod
    def applies_to(cls, path: str) -> bool:
        return not is_test_file(path)

    @property
    def flow(self) -> Flow:
        return flow_of(self.ctx)

    def visit_Call(self, node: cst.Call) -> None:
        if is_test_file(self.ctx.path):
            return
        self.flow.on_visit_call(node)
        self.on_call(node)

    def leave_Call(self, original_node: cst.Call) -> None:
        if not is_test_file(self.ctx.path):
            self.flow.on_leave_call(original_node)

    def visit_For(self, node: cst.For) -> None:
        if not is_test_file(self.ctx.path):
            self.flow.on_visit_for(node)

    def leave_For(self, original_node: cst.For) -> None:
        if is_test_file(self.ctx.path):
            return
        self.on_leave_for(original_node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        if not is_test_file(self.ctx.path):
            self.flow.on_leave_function(original_node)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        if not is_test_file(self.ctx.path):
            self.flow.on_leave_assign(original_node)

    def visit_Del(self, node: cst.Del) -> None:
        if not is_test_file(self.ctx.path):
            self.flow.on_visit_del(node)

    def on_call(self, node: cst.Call) -> None:
        pass

    def on_leave_for(self, node: cst.For) -> None:
        pass

    def split_evidence(self, split: Split) -> dict[str, object]:
        return {"split": split.kind, "split_call": _first_line(split.node)}


class _BeforeSplit(_LeakRule):
    """A statistic of kind `kind` learned from rows that a later split divides into train and test."""

    kind: LearnKind

    def on_call(self, node: cst.Call) -> None:
        split = self.flow.split_of(node)
        if split is not None:
            # By statement, then by text: copies made in one statement (a helper's and an inline one) have one
            # seq, and a set of nodes iterates in memory order, which differs from run to run.
            copies = sorted((learn for learn in split.data.learned if learn.transformer == COPIES),
                            key=lambda learn: (learn.seq, learn.what))
            grouped = "Group" in split.kind or any(a.keyword is not None and a.keyword.value == "groups"
                                                   for a in node.args)
            for learn in split.data.learned:
                # `X_aug = np.concatenate([X, X])` and `y_aug = np.concatenate([y, y])` are one leak: the first.
                # A group split can keep a row's copies together (`GroupKFold` by the original row): left alone.
                if learn.transformer != COPIES or (learn is copies[0] and not grouped):
                    self._check(learn, split)
            return
        if self.x.method(node) in ("transform", "flow", "standardize") and node.args:
            # A transformer (or a Keras image generator's featurewise statistics) fitted on all the rows and
            # applied to the parts of a later split.
            assert isinstance(node.func, cst.Attribute)
            fit = self.flow.fit_of(node.func.value)
            part = self.flow.arg_value(node)
            if fit is not None and part.split is not None and part.role is not None:
                call, fitted, kind, what = fit
                self._check(Learn(call, kind, what, fitted, 0), part.split)

    def _check(self, learn: Learn, split: Split) -> None:
        if learn.kind != self.kind or learn.data.role != split.data.role or not learn.data.shares_rows(split.data):
            return
        transformer = learn.cls
        if learn.target is not None and not learn.target & self._labels(split):
            return  # columns chosen by their correlation with a column that is not what the split predicts
        if learn.data.role is not None and learn.kind == "preprocess" and transformer not in SUPERVISED:
            return  # a scaler fitted on the training part, then a CV of that part: the test score is untouched
        if self.ctx.is_claimed(self.id, learn.node):
            return
        self.ctx.claim(self.id, learn.node)
        evidence = {"learned": learn.what, "transformer": transformer, **self.split_evidence(split)}
        self.report(learn.node, evidence,
                    what=learn.what[:1].upper() + learn.what[1:], split=split.kind, where=shorten(split.node))


    def _labels(self, split: Split) -> frozenset[str]:
        """The columns a split's labels are (`train_test_split(X, df["price"])`), or none we can read."""
        if len(split.arrays) < 2:
            return frozenset()
        found = self.flow.target_columns(split.arrays[1])
        return found[0] if found is not None else frozenset()


class PreprocessingBeforeSplit(_BeforeSplit):
    """A scaler, imputer, selector, PCA or vectorizer (or a pandas statistic) fitted on rows that are later
    split into train and test: the test rows shaped the features the model is scored on."""

    id = "MSL301"
    kind = "preprocess"
    message = ("{what} on rows that are later split into train and test (`{where}`), so the test "
               "rows shape the features and the score is optimistic; split first and fit on the training part "
               "only, or put the step in a `Pipeline` inside `cross_val_score`.")


class OversamplingBeforeSplit(_BeforeSplit):
    """Oversampling (SMOTE, ADASYN, RandomOverSampler, `resample(replace=True)`) before the split or outside
    the CV loop: copies and interpolations of a row land on both sides."""

    id = "MSL302"
    kind = "oversample"
    message = ("{what} rows that are later split (`{where}`): synthetic or copied rows derived from "
               "the test rows end up in training, so the score is optimistic; resample the training fold only, "
               "e.g. with an `imblearn.pipeline.Pipeline` inside cross-validation.")


class FitOnTest(_LeakRule):
    """`fit` / `fit_transform` on the test part of a split: the transformer (or model) is refitted on test rows."""

    id = "MSL303"
    message = ("`{expr}` fits on test data ({why}), so the test rows are scaled or encoded by their own "
               "statistics, not the training ones; fit on the training part and call `transform` on the test part.")
    # A fit on the test part of a split in sight (of the def or class, or one that calls it), or a fit on data
    # whose own name says test (`_named_test`: no split needed, the name is in the call reported).
    requires = requires_nearby = ()
    requires_either = (
        ((words.FITS, SPLIT_WORDS), (words.FITS,), (SPLIT_WORDS,)),
        ((words.FITS, is_test_name), (words.FITS, is_test_name)),
    )

    def on_call(self, node: cst.Call) -> None:
        method = self.x.method(node)
        self.flow.split_of(node)  # the splits met so far (`_test_first`), when no other rule looks for them
        if node.args and self.flow.summarised(node, self._test_first):
            self._helper_fit(node)
            return
        if method not in ("fit", "fit_transform", "fit_resample", "fit_predict", "partial_fit") or not node.args:
            return
        assert isinstance(node.func, cst.Attribute)
        if self.flow.constructor(node.func.value) in LABEL_ENCODERS | SEARCHES:
            return  # a search fitted on the test part chooses the model on it: MSL304
        data = self.flow.arg_value(node)
        if data.role == "test" and data.split is not None and self._transformer_or_test_named(node):
            why = f"the test part of `{_first_line(data.split.node)[:50]}`"
            self.report(node, {"split": data.split.kind}, expr=shorten(node), why=why)
            return
        self._named_test(node)

    def _test_first(self, node: cst.Call) -> bool:
        """Whether the first argument is a test part: only after a split, which the walk meets first."""
        return self.flow.split_seen and self.flow.arg_value(node).role == "test"

    def _helper_fit(self, node: cst.Call) -> None:
        """`X_te = prepare(X_te)` where `prepare` (a function or method of the file, or a function of another
        checked module) fits a transformer on what it is given: the summary's statistic, applied at this call, is
        learned from the test part."""
        for learn in sorted(self.flow.value(node).learned, key=lambda learn: learn.seq):
            if learn.node is node and learn.kind == "preprocess" and learn.data.role == "test" and learn.data.split:
                why = f"the test part of `{_first_line(learn.data.split.node)[:50]}`; {learn.what}"
                self.report(node, {"split": learn.data.split.kind, "learned": learn.what}, expr=shorten(node),
                            why=why)
                return

    def _transformer_or_test_named(self, node: cst.Call) -> bool:
        """A model fitted on the second part of a split is often the point (calibrating a frozen model on a
        held-out part, incremental `partial_fit` of a second batch): the finding needs a preprocessing
        object, or data the code itself calls test data."""
        assert isinstance(node.func, cst.Attribute)
        cls = self.flow.constructor(node.func.value)
        if cls in LEARNERS or cls in TARGET_LEARNERS or cls in CONTAINERS or cls in OVERSAMPLERS:
            return True
        first = self.x.arg(node, 0, "X")
        names = {n.value for n in nodes_in(first, cst.Name)} if first is not None else set()
        return any(is_test_name(n) for n in names)

    def _named_test(self, node: cst.Call) -> None:
        """`sc.fit_transform(X_train)` ... `sc.fit_transform(X_test)`: no split in the file, but the names and
        the same receiver fitted on the training counterpart say it."""
        arg = self.x.arg(node, 0, "X")
        base = arg
        while isinstance(base, (cst.Subscript, cst.Attribute)):
            base = base.value
        if not isinstance(base, cst.Name) or not is_test_name(base.value):
            return
        counterpart = train_counterpart(base.value)
        if counterpart == base.value or self.r.lookup(counterpart) is None:
            return
        assert isinstance(node.func, cst.Attribute)
        receiver = node.func.value
        if not isinstance(receiver, cst.Name):
            return
        b = self.r.lookup(receiver.value)
        fits = self.flow.fits.get(self.flow.key(b), []) if b is not None else []
        for _, call, _, _ in fits:
            first = self.x.arg(call, 0, "X")
            while isinstance(first, (cst.Subscript, cst.Attribute)):
                first = first.value
            if call is not node and isinstance(first, cst.Name) and first.value == counterpart:
                why = f"`{base.value}`, while `{receiver.value}` was fitted on `{counterpart}`"
                self.report(node, {"fitted_on": counterpart}, expr=shorten(node), why=why)
                return


class TestReuse(_LeakRule):
    """The test set used to choose the model: early stopping or checkpoints on it, a hyperparameter search fed
    it, or several models scored on it with the best kept."""

    id = "MSL304"
    message = ("{what} uses the test set to choose {chosen}, so its score is no longer an unbiased estimate; "
               "choose on a separate validation split or by cross-validation, and touch the test set once.")

    def on_call(self, node: cst.Call) -> None:
        self._early_stopping(node)
        self._search_on_test(node)
        self._selection(node)

    # Early stopping / checkpointing on the test data.
    def _early_stopping(self, node: cst.Call) -> None:
        method = self.x.method(node)
        name = self.r.qualname(node.func) or ""
        if method not in ("fit", "fit_generator", "search") and name not in _BOOSTER_TRAIN:
            return
        monitored: cst.BaseExpression | None = None
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in ("validation_data", "eval_set", "evals",
                                                                 "valid_sets"):
                monitored = arg.value
        if monitored is None:
            return
        monitored, _ = self.x.follow(monitored)
        if isinstance(monitored, (cst.List, cst.Tuple)) and monitored.elements and isinstance(
                monitored.elements[0].value, (cst.Tuple, cst.List)):
            monitored = monitored.elements[-1].value  # the last eval set is the one early stopping watches
        if isinstance(monitored, (cst.Tuple, cst.List)) and monitored.elements:
            monitored = monitored.elements[0].value
        data = self.flow.value(monitored)
        if data.role != "test":
            return
        how = "a hyperparameter search" if method == "search" and self._is_tuner(node) else self._selector(node)
        if how is None:
            return
        self.report(node, {"selection": how}, what=f"`{shorten(node)}` ({how} on the test data)",
                    chosen="the model")

    def _is_tuner(self, node: cst.Call) -> bool:
        assert isinstance(node.func, cst.Attribute)
        cls = self.flow.constructor(node.func.value) or ""
        return cls.startswith(("keras_tuner.", "kerastuner."))

    def _selector(self, node: cst.Call) -> str | None:
        calls: list[cst.Call] = [node]
        catboost = False
        if isinstance(node.func, cst.Attribute):
            ctor, _ = self.x.follow(node.func.value)
            if isinstance(ctor, cst.Call):
                calls.append(ctor)
                catboost = (self.r.qualname(ctor.func) or "").startswith("catboost.")
        for call in calls:
            for arg in call.args:
                keyword = arg.keyword.value if arg.keyword is not None else None
                if keyword in ("early_stopping_rounds", "early_stopping") and dotted(arg.value) not in (
                        "None", "False"):
                    return "early stopping"
                if keyword == "use_best_model":
                    catboost = False
                    if dotted(arg.value) == "True":
                        return "best-iteration selection"
                if keyword == "callbacks":
                    found = self._callbacks(arg.value)
                    if found is not None:
                        return found
        # CatBoost keeps the best iteration on the eval set unless told not to (`use_best_model=False`).
        return "best-iteration selection" if catboost else None

    def _callbacks(self, listed: cst.BaseExpression) -> str | None:
        listed, _ = self.x.follow(listed)
        for element in getattr(listed, "elements", ()):
            expr, _ = self.x.follow(element.value)
            if isinstance(expr, cst.Call):
                name = (dotted(expr.func) or "").rsplit(".", 1)[-1]
                if name in _SELECTING_CALLBACKS:
                    return "early stopping"
                if name in _CHECKPOINTS and any(
                        a.keyword is not None and a.keyword.value == "save_best_only"
                        and dotted(a.value) == "True" for a in expr.args):
                    return "best-checkpoint selection"
        return None

    def _search_on_test(self, node: cst.Call) -> None:
        """`GridSearchCV(...).fit(X_test, y_test)`: the hyperparameters are chosen on the test rows."""
        if self.x.method(node) != "fit" or not node.args:
            return
        assert isinstance(node.func, cst.Attribute)
        if self.flow.constructor(node.func.value) in SEARCHES and self.flow.arg_value(node).role == "test":
            self.report(node, {"selection": "a hyperparameter search"},
                        what=f"`{shorten(node)}` (a hyperparameter search fitted on the test data)",
                        chosen="the model")

    # Several models scored on the test data in a loop, the best kept.
    def on_leave_for(self, node: cst.For) -> None:
        it = node.iter
        if isinstance(it, cst.Call) and self.r.qualname(it.func) == "builtins.enumerate" and it.args:
            it = it.args[0].value
        if self.flow.split_of(it) is not None:
            return  # a loop over the folds of a CV: one model per fold, each scored on its own test fold
        scores: dict[str, cst.Call] = {}  # name bound to a test score -> the scoring call
        appended: dict[str, cst.Call] = {}  # container a test score is stored in -> the scoring call
        compared: list[cst.Call] = []
        fits = False
        # The loop variable and the names computed from it in the body (`pred = (proba >= t)`).
        derived = {n.value for n in nodes_in(node.target, cst.Name)}
        rule = self

        def scored_in(value: cst.BaseExpression) -> cst.Call | None:
            """A test score, the name of one, or a tuple/dict holding one (`(name, acc)`, `{"acc": acc}`)."""
            if isinstance(value, cst.Name):
                return scores.get(value.value)
            if isinstance(value, (cst.Tuple, cst.List)):
                return next((c for c in map(scored_in, (el.value for el in value.elements)) if c), None)
            if isinstance(value, cst.Dict):
                return next((c for c in map(scored_in, (el.value for el in value.elements
                                                        if isinstance(el, cst.DictElement))) if c), None)
            return rule._test_score(value)

        class Body(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                nonlocal fits
                if rule.x.method(call) in ("fit", "fit_transform") or rule.r.qualname(call.func) in _BOOSTER_TRAIN:
                    fits = True

            def visit_Assign(self, assign: cst.Assign) -> None:
                target = assign.targets[0].target
                value = assign.value
                if isinstance(target, (cst.Name, cst.Tuple)) and any(n.value in derived
                                                                     for n in nodes_in(value, cst.Name)):
                    derived.update(n.value for n in nodes_in(target, cst.Name))
                unpacked = rule._test_score(value) if isinstance(target, cst.Tuple) else None
                if unpacked is not None:  # `loss, acc = model.evaluate(X_test, y_test)`
                    scores.update((name.value, unpacked) for name in nodes_in(target, cst.Name))
                if isinstance(target, cst.Name):
                    scored = rule._test_score(value)
                    if scored is not None:
                        scores[target.value] = scored
                    # `best = max(best, acc)`
                    if isinstance(value, cst.Call) and rule.r.qualname(value.func) in _SELECT_FUNCS:
                        found = next((c for c in (scored_in(a.value) for a in value.args) if c), None)
                        if found is not None:
                            compared.append(found)
                elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                    scored = scored_in(value)  # `results[name] = acc`
                    if scored is not None:
                        appended[target.value.value] = scored

            def visit_If(self, branch: cst.If) -> None:
                for comparison in nodes_in(branch.test, cst.Comparison):
                    for side in (comparison.left, *(t.comparator for t in comparison.comparisons)):
                        scored = scored_in(side)
                        if scored is not None:
                            compared.append(scored)

        visit(node.body, Body())
        # `results.append(score)` / `results.append((name, model.score(X_test, y_test)))`
        for call in nodes_in(node.body, cst.Call):
            if self.x.method(call) == "append" and call.args and isinstance(call.func, cst.Attribute) \
                    and isinstance(call.func.value, cst.Name):
                scored = scored_in(call.args[0].value)
                if scored is not None:
                    appended[call.func.value.value] = scored
        if not fits:
            # No model fitted in the loop: what is chosen must change what is scored on the test part (a
            # decision threshold applied to the predictions, a fitted model taken from a list).
            def varies(scored: cst.Call) -> bool:
                return any(n.value in derived for n in nodes_in(scored, cst.Name))
            compared = [scored for scored in compared if varies(scored)]
            appended = {name: scored for name, scored in appended.items() if varies(scored)}
        chosen = self._chosen(node, derived, [*compared, *appended.values()]) if not fits else _MODELS
        for scored in compared:
            self._report_selection(scored, "a comparison in the loop", chosen)
        pending = self.ctx.analyses.setdefault("msl304_lists", {})
        assert isinstance(pending, dict)
        pending.update((name, (scored, chosen)) for name, scored in appended.items())

    def _chosen(self, node: cst.For, derived: set[str], scored: list[cst.Call]) -> tuple[str, str]:
        """What a loop that fits nothing chooses: a model fitted before it (the scored receiver comes from the
        loop variable), a decision threshold (the loop variable compared with the predictions), or a value.
        Returned as (what was scored for, what the test set chose)."""
        names = ", ".join(n.value for n in nodes_in(node.target, cst.Name))
        over = f"`{names}` in `{shorten(node.iter)}`"
        receivers = {n.value for call in scored if isinstance(call.func, cst.Attribute)
                     for n in nodes_in(call.func.value, cst.Name)}
        if receivers & derived:
            return f"each fitted model {over}", "the model"
        if any(n.value in derived for comparison in nodes_in(node.body, cst.Comparison)
               for n in nodes_in(comparison, cst.Name)):
            return f"each decision threshold {over}", "the threshold"
        return f"each value of {over}", f"`{names}`"

    def _selection(self, node: cst.Call) -> None:
        """`max(scores)`, `np.argmax(scores)`, `max(results, key=results.get)`, `pd.Series(results).idxmax()` on
        test scores collected in a loop or a comprehension; `max(models, key=lambda m: m.score(X_te, y_te))`."""
        candidates: list[cst.BaseExpression] = []
        if self.r.qualname(node.func) in _SELECT_FUNCS and node.args:
            candidates.append(node.args[0].value)
            key = self.x.arg(node, 99, "key")
            if isinstance(key, cst.Lambda):
                scored = self._test_score(key.body)
                if scored is not None:
                    self._report_selection(scored, f"`{shorten(node)}`", _MODELS)
                    return
        if self.x.method(node) in _SELECT_METHODS and isinstance(node.func, cst.Attribute):
            candidates.append(node.func.value)
        pending = self.ctx.analyses.get("msl304_lists") or {}
        assert isinstance(pending, dict)
        for expr in candidates:
            # Through `pd.DataFrame(rows)["f1"]`, `results.items()`, `np.array(scores)` to the container.
            for _ in range(8):
                if isinstance(expr, cst.Subscript):
                    expr = expr.value
                elif isinstance(expr, cst.Call) and expr.args and self.r.qualname(expr.func) in _CONTAINER_FUNCS:
                    expr = expr.args[0].value
                elif isinstance(expr, cst.Call) and self.x.method(expr) in ("items", "values"):
                    expr = self.x.receiver(expr)
                else:
                    break
            kept = pending.get(expr.value) if isinstance(expr, cst.Name) else None
            scored, chosen = kept if kept is not None else (self._scored_comprehension(expr), _MODELS)
            if scored is not None:
                self._report_selection(scored, f"`{shorten(node)}`", chosen)

    def _scored_comprehension(self, expr: cst.BaseExpression) -> cst.Call | None:
        """`scores = [m.fit(X_tr, y_tr).score(X_te, y_te) for m in models]`: the scoring call, if the
        comprehension also fits."""
        expr, _ = self.x.follow(expr)
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp)):
            element: cst.BaseExpression = expr.elt
        elif isinstance(expr, cst.DictComp):
            element = expr.value
        else:
            return None
        calls = nodes_in(expr, cst.Call)
        if not any(self.x.method(c) in ("fit", "fit_transform") for c in calls):
            return None
        return next((c for c in (self._test_score(e) for e in nodes_in(element, cst.Call)) if c), None)

    def _report_selection(self, scored: cst.Call, by: str, chosen: tuple[str, str] = _MODELS) -> None:
        if not self.ctx.is_claimed(self.id, scored):
            self.ctx.claim(self.id, scored)
            self.report(scored, {"selection": by, "chosen": chosen[1]}, chosen=chosen[1],
                        what=f"`{shorten(scored)}`, computed for {chosen[0]} with the best kept by {by},")

    def _test_score(self, expr: cst.BaseExpression) -> cst.Call | None:
        """A score computed on the test part of a split: `m.score(X_test, y_test)`, `accuracy_score(y_test, p)`."""
        while isinstance(expr, cst.Subscript):
            expr = expr.value  # `model.evaluate(X_test, y_test)[1]`
        if not isinstance(expr, cst.Call):
            return None
        if self.x.method(expr) in ("score", "evaluate") and expr.args:
            return expr if self.flow.arg_value(expr).role == "test" else None
        name = self.r.qualname(expr.func) or ""
        if name.startswith("sklearn.metrics.") and any(self.flow.value(a.value).role == "test" for a in expr.args):
            return expr
        return None


class TargetInFeatures(_LeakRule):
    """A feature derived from the target before the split, or the target column left in the features."""

    id = "MSL305"
    message = ("{what}, so the model sees the label it is scored on; {fix}.")

    def on_call(self, node: cst.Call) -> None:
        split = self.flow.split_of(node)
        if split is None:
            return
        for learn in split.data.learned:
            if learn.kind == "target" and learn.data.role == split.data.role and learn.data.shares_rows(split.data):
                what = learn.what[:1].upper() + learn.what[1:]
                self._report(learn.node, split, f"{what} on the target of rows that are later split "
                                                f"(`{shorten(split.node)}`)",
                             "encode inside cross-validation (`TargetEncoder` in a `Pipeline` cross-fits)")
        if len(split.arrays) < 2:
            return
        features, labels = split.arrays[0], split.arrays[1]
        if self._stratifies_frame(split, features, labels):
            return
        self._by_position(split, features, labels)
        found = self.flow.target_columns(labels)
        if found is None:
            self._computed_labels(split, features, labels)
            return
        columns, frame = found
        self._written_columns(split, features, columns, frame)
        if self.flow.keeps_columns(features, frame, columns):
            col = sorted(columns)[0]
            self._report(split.node, split, f"`{shorten(features)}` still holds the target column {col!r}",
                         f"drop it from the features (`df.drop(columns={col!r})`)")

    @staticmethod
    def _stratifies_frame(split: Split, features: cst.BaseExpression, labels: cst.BaseExpression) -> bool:
        """`sss.split(housing, housing["income_cat"])`: a splitter given a whole frame and one of its own
        columns stratifies the frame's rows by that column; it yields row indices, the column is no label, and
        the target is chosen afterwards (the column is usually dropped from both parts)."""
        return (split.kind.endswith(".split") and isinstance(features, cst.Name)
                and isinstance(labels, cst.Subscript) and isinstance(labels.value, cst.Name)
                and labels.value.value == features.value)

    def _written_columns(self, split: Split, features: cst.BaseExpression, target: frozenset[str],
                         frame: int) -> None:
        """Columns written into the features' frame before the split: a statistic of the target
        (`df["te"] = df.groupby(k)["y"].transform("mean")`), a feature computed from the target
        (`df["ppsf"] = df["price"] / df["sqft"]`) kept in the features, or the target computed from a feature
        the features keep (`df["target"] = (df["score"] > 50).astype(int)`)."""
        lineage = self.flow.value(features).roots | self._binding_ids(features)
        for write in self.flow.column_writes:
            if write.binding not in lineage:
                continue
            read, grouped = self._reads(write.value, write.seq)
            written = write.column
            if written is not None and written & target:
                # The target written as a function of columns the features all keep: the model reads it off.
                sources = read - target
                if sources and self.flow.keeps_columns(features, frame, sources):
                    col = sorted(sources)[0]
                    self._report(write.value, split,
                                 f"`{shorten(features)}` holds {col!r}, from which the target "
                                 f"{sorted(written)[0]!r} is computed (`{shorten(write.value)}`)",
                                 f"drop {col!r} from the features, or predict a target that is not a function of them")
                continue
            if not read & target:
                continue
            if written is None and not grouped:
                continue  # a computed column we cannot name: kept or not is unknown
            if written is not None and not self.flow.keeps_columns(features, write.binding, written):
                continue  # the derived column is dropped from the features
            how = "a group statistic of" if grouped else "a feature from"
            self._report(write.value, split, f"`{shorten(write.value)}` derives {how} the target column "
                                             f"{sorted(read & target)[0]!r} on all rows before the split",
                         "compute target statistics inside cross-validation (e.g. `TargetEncoder`), from the "
                         "training fold only" if grouped else "drop the derived column from the features")

    def _reads(self, expr: cst.BaseExpression, before: int) -> tuple[frozenset[str], bool]:
        """The literal columns an expression subscripts, and whether it computes a grouped statistic; through
        names bound to a grouped statistic (`means = df.groupby("city")["price"].mean()`)."""
        read: set[str] = set()
        grouped = False
        pending: list[tuple[cst.BaseExpression, int]] = [(expr, before)]
        for _ in range(8):
            if not pending:
                break
            node, seq = pending.pop()
            calls = nodes_in(node, cst.Call)
            if any(self.x.method(c) == "groupby" for c in calls):
                grouped = True
            for sub in nodes_in(node, cst.Subscript):
                for element in sub.slice:
                    if isinstance(element.slice, cst.Index):
                        read |= self.flow.literal_columns(element.slice.value, seq) or frozenset()
            for name in nodes_in(node, cst.Name):
                b = self.r.lookup(name.value, seq)
                if b is not None and b.value is not None and b.unpack_index is None and any(
                        self.x.method(c) == "groupby" for c in nodes_in(b.value, cst.Call)):
                    pending.append((b.value, b.seq))
        return frozenset(read), grouped

    def _computed_labels(self, split: Split, features: cst.BaseExpression, labels: cst.BaseExpression) -> None:
        """`y = (df["quality"] >= 7).astype(int)` while `X` keeps `quality`: the labels are a function of a
        feature."""
        found = self.flow.label_sources(labels)
        if found is None:
            return
        columns, frame, expr = found
        if self.flow.keeps_columns(features, frame, columns):  # every column the labels are computed from
            col = sorted(columns)[0]
            self._report(split.node, split, f"`{shorten(features)}` holds {col!r}, from which the labels are "
                                            f"computed (`{shorten(expr)}`)",
                         f"drop {col!r} from the features (`df.drop(columns={col!r})`)")

    def _by_position(self, split: Split, features: cst.BaseExpression, labels: cst.BaseExpression) -> None:
        """`X = df.iloc[:, 0:5]`, `y = df.iloc[:, 4]` (or `data[:, :5]`, `data[:, 4]`): the label column is
        among the feature columns."""
        target = self.flow.positions(labels)
        held = self.flow.positions(features)
        if target is None or held is None or target[0] != held[0]:
            return
        k = target[1].single
        if k is not None and held[1].covers(k):
            self._report(split.node, split, f"`{shorten(features)}` holds column {k}, the labels' column",
                         "select the feature columns without it" + (" (`df.iloc[:, :-1]`)" if k == -1 else ""))

    def _binding_ids(self, features: cst.BaseExpression) -> set[int]:
        """The bindings a features expression goes through (so a mutation of any of them counts)."""
        ids: set[int] = set()
        expr, before = features, 1 << 62
        for _ in range(40):
            while isinstance(expr, (cst.Subscript, cst.Attribute)):
                expr = expr.value
            if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
                expr = expr.func.value
                continue
            if not isinstance(expr, cst.Name):
                break
            b = self.r.lookup(expr.value, before)
            while b is not None and b.aug_op is not None:
                ids.add(self.flow.key(b))
                b = self.r.lookup(expr.value, b.seq)
            if b is None or b.value is None:
                break
            ids.add(self.flow.key(b))
            expr, before = b.value, b.seq
        return ids

    def _report(self, node: cst.CSTNode, split: Split, what: str, fix: str) -> None:
        if not self.ctx.is_claimed(self.id, node):
            self.ctx.claim(self.id, node)
            self.report(node, self.split_evidence(split), what=what, fix=fix)


RULES: list[type[CodeRule]] = [PreprocessingBeforeSplit, OversamplingBeforeSplit, FitOnTest, TestReuse,
                               TargetInFeatures]
