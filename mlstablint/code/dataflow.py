"""Where rows go: the def-use flow the leakage rules (MSL3xx) follow through one file.

One question is asked of an expression at a point of the file: *which rows does this value carry,
what was learned from rows on its way, and is it a train or a test part of a split?* The answer, a
`Value`, is computed on demand from the `Resolver`'s bindings (so a name means what it meant at that
point) and cached per node:

* `roots` — the sources the rows come from (a binding with no known value, a reader or generator call);
* `learned` — the statistics learned from rows on the way (`Learn`: a scaler's `fit_transform`, a
  selector fitted earlier and applied with `transform`, `fillna(df.mean())`, SMOTE's `fit_resample`,
  rows stacked twice by `np.concatenate([X, X + noise])`);
* `role` — "train", "test" or "val" when the value is (a selection of) one part of a split.

Values flow through assignments, tuple unpacking, column selection (`df[cols]`, `.loc`, `.iloc`),
`pop`/`drop`, `concat`/`merge`/`hstack`, `.values`/`.to_numpy()`, index arrays of a `KFold.split`
loop (`X[train_idx]`), and the file's own functions and methods: each is summarised once, when the walk
has left its body (`HelperSummary`: what it returns in terms of its parameters, and whether it splits them),
and a call substitutes its arguments (and a method's receiver) into that summary. A function of another
checked module is summarised the same way by that module's own flow (`export`, through summaries.py, which
follows its own calls of other modules one level further) and applied by parameter position
(`ProjectHelper`), its split included. The rules add the events only they know about (a split, a fit on
test rows) and report.

This is the leakage family's own flow; it asks the shared value analysis nothing yet (issue 16),
and its entry points (`value`, `splitter_of`, `fit_of`) are the questions it would ask it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar, runtime_checkable

import libcst as cst

from mlstablint.code import words
from mlstablint.code.exprs import Exprs
from mlstablint.code.names import INFINITY, MUTATION, Binding, Resolver, Scope, dotted
from mlstablint.code.rule import RuleContext
from mlstablint.code.walk import descendants, visit

MAX_DEPTH = 40
N = TypeVar("N", bound=cst.CSTNode)
Role = Literal["train", "test", "val"]
LearnKind = Literal["preprocess", "oversample", "target"]
# The `transformer` of a Learn that stacks copies of rows (augmentation, duplication): the confirmation
# duplicates rows.
COPIES = "copies"

_PRE = "sklearn.preprocessing."
# Transformers whose fit learns a statistic of the rows (not only the set of categories or nothing).
LEARNERS = frozenset({
    *(_PRE + n for n in ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "QuantileTransformer",
                         "PowerTransformer", "KBinsDiscretizer")),
    *("sklearn.impute." + n for n in ("SimpleImputer", "KNNImputer", "IterativeImputer")),
    *("sklearn.feature_selection." + n for n in (
        "SelectKBest", "SelectPercentile", "SelectFpr", "SelectFdr", "SelectFwe", "GenericUnivariateSelect", "RFE",
        "RFECV", "SelectFromModel", "SequentialFeatureSelector")),
    *("sklearn.decomposition." + n for n in (
        "PCA", "TruncatedSVD", "KernelPCA", "IncrementalPCA", "FastICA", "NMF", "FactorAnalysis",
        "LatentDirichletAllocation", "SparsePCA")),
    *("sklearn.feature_extraction.text." + n for n in ("CountVectorizer", "TfidfVectorizer", "TfidfTransformer")),
    "sklearn.discriminant_analysis.LinearDiscriminantAnalysis",
})
# Learners that use the labels: fitted on all the training rows before a CV of those rows, they still leak
# into its folds (an unsupervised scaler there changes nothing the test score sees).
SUPERVISED = frozenset({n.rsplit(".", 1)[-1] for n in LEARNERS if ".feature_selection." in n}
                       | {"LinearDiscriminantAnalysis"})
# Estimators that learn from the target: fitted before the split, the test rows' labels shape the features.
TARGET_LEARNERS = frozenset({_PRE + "TargetEncoder", "category_encoders.TargetEncoder",
                             "category_encoders.target_encoder.TargetEncoder"})
# Label encoders: fitted on the test labels they only map class names to codes (a metric's input).
LABEL_ENCODERS = frozenset({_PRE + "LabelEncoder", _PRE + "LabelBinarizer", _PRE + "MultiLabelBinarizer"})
# Containers whose fit_transform fits the transformers they hold.
CONTAINERS = frozenset({"sklearn.pipeline.Pipeline", "sklearn.pipeline.make_pipeline", "sklearn.pipeline.FeatureUnion",
                        "sklearn.pipeline.make_union", "sklearn.compose.ColumnTransformer",
                        "sklearn.compose.make_column_transformer"})
OVERSAMPLERS = frozenset({
    *("imblearn.over_sampling." + n for n in (
        "SMOTE", "ADASYN", "RandomOverSampler", "BorderlineSMOTE", "SVMSMOTE", "KMeansSMOTE", "SMOTENC", "SMOTEN")),
    "imblearn.combine.SMOTEENN", "imblearn.combine.SMOTETomek",
})
RESAMPLE_FUNCS = frozenset({"sklearn.utils.resample"})
SCALING_FUNCS = frozenset({
    *(_PRE + n for n in ("scale", "minmax_scale", "maxabs_scale", "robust_scale", "quantile_transform",
                         "power_transform")),
    "scipy.stats.zscore", "scipy.stats.mstats.zscore",
})
SPLIT_FUNCS = frozenset({"sklearn.model_selection.train_test_split", "sklearn.cross_validation.train_test_split"})
SPLITTERS = frozenset({
    "sklearn.model_selection." + n for n in (
        "KFold", "StratifiedKFold", "GroupKFold", "RepeatedKFold", "RepeatedStratifiedKFold", "ShuffleSplit",
        "StratifiedShuffleSplit", "GroupShuffleSplit", "TimeSeriesSplit", "LeaveOneOut", "LeavePOut",
        "StratifiedGroupKFold", "LeaveOneGroupOut", "PredefinedSplit")
})
CV_FUNCS = frozenset({
    "sklearn.model_selection." + n for n in (
        "cross_val_score", "cross_validate", "cross_val_predict", "learning_curve", "validation_curve",
        "permutation_test_score")
})
SEARCHES = frozenset({
    "sklearn.model_selection." + n for n in (
        "GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV")
} | {"sklearn.feature_selection.RFECV", "sklearn.linear_model.LogisticRegressionCV",
     "sklearn.linear_model.RidgeCV", "sklearn.linear_model.LassoCV", "sklearn.linear_model.ElasticNetCV"})
# Keras: an image generator whose `fit` learns per-channel statistics when one of these options is on, and
# the layers that augment images (their output holds a changed copy of every input row).
_KERAS_ROOTS = ("keras.", "tensorflow.")
FEATUREWISE = ("featurewise_center", "featurewise_std_normalization", "zca_whitening")


def is_image_generator(name: str | None) -> bool:
    """`keras.preprocessing.image.ImageDataGenerator` under any of its import paths."""
    return name is not None and name.startswith(_KERAS_ROOTS) and name.endswith(".ImageDataGenerator")


def is_augmentation_layer(name: str | None) -> bool:
    """`keras.layers.RandomFlip`, `tf.keras.layers.experimental.preprocessing.RandomRotation`..."""
    return (name is not None and name.startswith(_KERAS_ROOTS) and ".layers." in name
            and name.rsplit(".", 1)[-1].startswith("Random"))


# Pandas reductions that are statistics of the rows when used to fill or standardise them.
STAT_METHODS = frozenset({"mean", "median", "std", "var", "min", "max", "mode", "quantile", "nanmean", "nanstd"})
STAT_FUNCS = frozenset({f"numpy.{n}" for n in ("mean", "median", "std", "var", "min", "max", "nanmean", "nanmedian",
                                               "nanstd", "amin", "amax", "percentile", "quantile")})
# Calls whose result carries the rows of all their data arguments.
COMBINE_FUNCS = frozenset({
    "pandas.concat", "pandas.merge", "numpy.concatenate", "numpy.hstack", "numpy.vstack", "numpy.column_stack",
    "numpy.c_", "numpy.r_", "numpy.stack", "numpy.append", "numpy.array", "numpy.asarray", "pandas.DataFrame",
    "pandas.Series", "pandas.get_dummies", "numpy.nan_to_num", "scipy.sparse.hstack", "scipy.sparse.vstack",
    "scipy.sparse.csr_matrix",
})
# Methods that return (a part of) the rows of their receiver, the rows of their argument joined in.
ROW_METHODS = frozenset({
    "drop", "pop", "copy", "astype", "fillna", "dropna", "reset_index", "to_numpy", "to_frame", "values", "reshape",
    "ravel", "flatten", "toarray", "todense", "merge", "join", "assign", "rename", "replace", "sort_index",
    "sort_values", "select_dtypes", "ffill", "bfill", "interpolate", "clip", "round", "abs", "set_index", "filter",
    "apply", "map", "applymap", "transform", "squeeze", "get", "where", "mask", "head", "tail", "sample", "tolist",
    "append", "reindex", "transpose", "T", "query", "explode", "melt", "pivot_table", "groupby", "agg",
    "aggregate", "drop_duplicates", "infer_objects", "convert_dtypes",
})
# Calls that stack the rows of their arguments (along axis 0 unless an `axis` says otherwise).
ROW_STACKS = frozenset({"pandas.concat", "numpy.concatenate", "numpy.vstack", "numpy.row_stack", "numpy.append"})
# What keeps every row of its input (a copy, an elementwise function, an image flip): its rows are the input's.
ROW_KEEPING_FUNCS = frozenset({
    *(f"numpy.{n}" for n in ("flip", "fliplr", "flipud", "rot90", "roll", "clip", "abs", "absolute", "log", "log1p",
                             "exp", "sqrt", "square", "copy", "array", "asarray", "ascontiguousarray", "round",
                             "nan_to_num", "add", "multiply", "subtract")),
    *(f"scipy.ndimage.{n}" for n in ("rotate", "shift", "zoom", "gaussian_filter", "map_coordinates")),
    "pandas.DataFrame", "copy.copy", "copy.deepcopy",
})
ROW_KEEPING_METHODS = frozenset({
    "copy", "astype", "to_numpy", "reset_index", "fillna", "rename", "assign", "reshape", "apply", "map",
    "applymap", "transform", "clip", "round", "abs", "replace", "infer_objects", "convert_dtypes", "sort_values",
    "sort_index", "ffill", "bfill", "interpolate", "toarray", "todense", "values", "add", "mul", "multiply",
})
ROW_SELECTING_METHODS = frozenset({"sample", "head", "tail", "query", "nlargest", "nsmallest", "dropna",
                                   "drop_duplicates", "take", "where", "mask"})
# Methods that recode a label column's values (the labels are still that column).
_LABEL_CODINGS = frozenset({"to_numpy", "ravel", "astype", "copy", "map", "replace", "apply", "fillna", "squeeze"})
PREDICT_METHODS = frozenset({"predict", "predict_proba", "predict_log_proba", "decision_function", "score_samples"})
FIT_METHODS = frozenset({"fit", "fit_transform", "fit_resample", "partial_fit", "fit_predict"})
# The words without which a function learns nothing from rows (`_call_value`: fits and transforms, scaling and
# resampling functions, `fillna`/`apply` with a statistic, rows stacked twice): another module's function
# without any is not read for a summary (summaries.py).
LEARN_WORDS = FIT_METHODS | {"transform", "fillna", "apply", "repeat"} | frozenset(
    name.rsplit(".", 1)[-1] for name in (*SCALING_FUNCS, *RESAMPLE_FUNCS, *ROW_STACKS))
# The words without which no split is in sight (`Flow.split_of`): a split or CV function, a splitter, a search.
SPLIT_WORDS = words.finals(SPLIT_FUNCS, CV_FUNCS, SEARCHES, SPLITTERS)
# The words without which a function of another module neither learns from nor splits rows: it is not read
# for a leakage summary, and a call of it stands for none of them in the pre-pass (summaries.py).
LEAK_WORDS = LEARN_WORDS | SPLIT_WORDS

# "a `SelectKBest` is fitted", "`SMOTE` resamples": the class the confirmation experiment re-creates.
_FITTED = re.compile(r"(?:a )?`(\w+)`(?: \(in .*\))? (?:is fitted|resamples)")
_IN_HELPER = re.compile(r" \(in `([\w.]+)\(\)`(?:, called through `[\w.]+\(\)`)?\)")
_TEST_NAME = re.compile(r"(?:^|_)(?:test|tst|te)(?:_|$|\d)|^test|test$", re.I)


def is_test_name(name: str) -> bool:
    """`X_test`, `test_docs`, `Xtest`, `df_te`: a name that says it holds the test rows."""
    return bool(_TEST_NAME.search(name)) and "latest" not in name.lower() and "contest" not in name.lower()


def train_counterpart(name: str) -> str:
    """`X_test` -> `X_train`, `test_docs` -> `train_docs`, `df_te` -> `df_tr`."""
    out = re.sub("test", "train", name)
    out = re.sub("Test", "Train", out)
    out = re.sub("TEST", "TRAIN", out)
    return re.sub(r"(^|_)te(_|$|\d)", r"\1tr\2", out)


@dataclass(eq=False)
class Learn:
    """A statistic learned from rows, at `node` (where a finding is reported)."""

    node: cst.CSTNode
    kind: LearnKind
    what: str  # e.g. "StandardScaler", "`df.mean()`"
    data: Value
    seq: int
    # The class the confirmation re-creates when `what` does not name one (e.g. a hand-made selection).
    transformer: str | None = None
    # A selection by correlation with these columns: a leak when they are the labels of the split.
    target: frozenset[str] | None = None

    @property
    def cls(self) -> str | None:
        """The class fitted or resampling (`StandardScaler`, `SMOTE`), or the stand-in `transformer`."""
        if self.transformer is not None:
            return self.transformer
        fitted = _FITTED.match(self.what)
        return fitted.group(1) if fitted else None


@dataclass(eq=False)
class Split:
    """Rows divided into train and test (or folds) at `node`."""

    node: cst.CSTNode
    kind: str  # "train_test_split", "KFold.split", "cross_val_score", "helper split_data()"...
    data: Value
    seq: int
    arrays: tuple[cst.BaseExpression, ...] = ()


@dataclass(frozen=True)
class ColumnWrite:
    """`df["c"] = expr`: a column written into a frame (`binding`: the MUTATION binding it made)."""

    binding: int
    column: frozenset[str] | None  # None when the written column cannot be read (`df[name] = ...`)
    value: cst.BaseExpression
    seq: int


@dataclass(frozen=True)
class Value:
    roots: frozenset[int] = frozenset()
    learned: frozenset[Learn] = frozenset()
    role: Role | None = None
    split: Split | None = None

    def __or__(self, other: Value) -> Value:
        roles = {v.role for v in (self, other) if v.roots}
        role = roles.pop() if len(roles) == 1 else None
        split = (self.split if self.role == role and self.split is not None else other.split) if role else None
        return Value(self.roots | other.roots, self.learned | other.learned, role, split)

    def shares_rows(self, other: Value) -> bool:
        return not self.roots.isdisjoint(other.roots)


EMPTY = Value()


@dataclass
class HelperSummary:
    """What a function of the file does to the rows passed to it, read once from its body.

    `returned` is what its `return` statements give, in terms of its own parameters: a parameter's rows
    are the root `params[i][1]`, a statistic learned from a parameter is a `Learn` whose data has that
    root. A call substitutes the arguments' values for those roots (`Flow.apply`): the flow through the
    helper's return is followed without reading its body again per call."""

    name: str
    params: tuple[tuple[str, int], ...] = ()  # (parameter name, root of its rows), positional order
    returned: Value | None = None  # None: the function returns nothing (or is being summarised)
    splits: str | None = None  # the split it performs on a parameter, if any
    output_roles: dict[int, Role] = field(default_factory=dict)  # returned tuple position -> role
    positional: int = 0  # how many of `params` can be passed by position

    @property
    def param_roots(self) -> frozenset[int]:
        return frozenset(root for _, root in self.params)


@dataclass(frozen=True)
class ProjectHelper:
    """What a function of another checked module does to the rows passed to it, by parameter position and
    without any node of its module (`Flow.export`; read by summaries.py, applied by `Flow._apply_project`)."""

    name: str  # as the caller resolves it: `pkg.prep.scale`
    params: tuple[str, ...]
    positional: int  # how many of `params` can be passed by position
    flows: frozenset[int]  # the parameters whose rows its return carries
    own_rows: bool  # its return carries rows it reads itself
    # What it learns on the way to its return: (kind, what, class, the parameters the rows come from, whether
    # its own rows are among them).
    learned: tuple[tuple[LearnKind, str, str | None, frozenset[int], bool], ...]
    splits: str | None = None  # the split it performs on what it is given ("train_test_split", "KFold.split")
    output_roles: tuple[tuple[int, Role], ...] = ()  # returned tuple position -> role

    def split_arrays(self, call: cst.Call) -> tuple[cst.BaseExpression, ...]:
        """The arguments of a call of it that hold rows: by position, then by keyword."""
        positional = [a.value for a in call.args if a.keyword is None and not a.star][:self.positional]
        keywords = [a.value for a in call.args if a.keyword is not None and a.keyword.value in self.params]
        return (*positional, *keywords)


@runtime_checkable
class ProjectHelpers(Protocol):
    """The other modules of the checked project (summaries.py), as the leakage flow asks them."""

    def leak_summary(self, qualname: str, words: frozenset[str] = ...) -> ProjectHelper | None:
        """`words`: None without reading the function when its text (and its callees') holds none of them."""
        ...


class Flow:
    """The leakage flow of one file; built lazily, shared by the MSL3xx rules through the RuleContext."""

    def __init__(self, resolver: Resolver, exprs: Exprs, project: ProjectHelpers | None = None) -> None:
        self.r = resolver
        self.x = exprs
        self.project = project
        self._cache: dict[tuple[int, int], Value] = {}
        # id(binding of a receiver) -> the fits made on it: (seq, call node, fitted data).
        self.fits: dict[int, list[tuple[int, cst.Call, Value, str]]] = {}
        # id(binding) of a loop's index variable -> (role, split).
        self.loop_roles: dict[int, tuple[Role, Split]] = {}
        # id(MUTATION binding) -> the value assigned into the name (`df["c"] = expr`).
        self.mutations: dict[int, cst.BaseExpression] = {}
        self.column_writes: list[ColumnWrite] = []
        self._corr_cache: dict[tuple[int, int], tuple[cst.CSTNode, frozenset[str]] | None] = {}
        # id(binding of a def) -> the function node, once the walk has left its body (then it can be read).
        self.functions: dict[int, cst.FunctionDef] = {}
        self._summaries: dict[int, HelperSummary] = {}
        self._busy: set[int] = set()
        # (id(call), id(learn in a helper's summary)) -> the learn as seen at that call.
        self._applied: dict[tuple[int, int], Learn] = {}
        self._split_at: dict[int, Split] = {}
        # (call, point of the walk) -> what `split_of` found there: every rule of the family asks about every call.
        self._split_asked: dict[tuple[int, int], Split | None] = {}
        self._seen: set[tuple[str, int]] = set()
        self._alive: dict[int, object] = {}
        self._inplace_drops: dict[str, list[tuple[int, frozenset[str] | None]]] = {}
        # name -> statistics learned into it in place (`df.fillna(df.mean(), inplace=True)`): (seq, learn).
        self._inplace_learns: dict[str, list[tuple[int, Learn]]] = {}
        # (id(class), attribute) -> the one value its methods assign to `self.<attribute>`, if one.
        self._attributes: dict[tuple[int, str], cst.BaseExpression | None] = {}

    # ---- fed during the walk (by every MSL3xx rule, or a FlowRecorder; once per node) -----------------

    def on_visit_call(self, node: cst.Call) -> None:
        if self.once("drop", node):
            self.record_drop(node)

    def on_leave_call(self, node: cst.Call) -> None:
        # Recorded on leaving, so that every rule's check of this call sees only the earlier fits.
        if self.once("fit", node):
            self.record_fit(node)

    def on_visit_for(self, node: cst.For) -> None:
        if self.once("node", node):
            self.record_loop(node)

    def on_leave_function(self, node: cst.FunctionDef) -> None:
        if self.once("node", node):
            self.record_function(node)

    def on_leave_assign(self, node: cst.Assign) -> None:
        if self.once("node", node):
            for target in node.targets:
                if isinstance(target.target, (cst.Subscript, cst.Attribute)):
                    self.record_mutation(target.target, node.value)

    def on_visit_del(self, node: cst.Del) -> None:
        if self.once("node", node):
            self.record_delete(node.target)

    # ---- recording (idempotent per node) ---------------------------------------------------------

    def key(self, obj: object) -> int:
        """`id(obj)`, with obj kept alive for the file: bindings of a function's scope are dropped when the
        walk leaves it, and a new binding could otherwise get the id of one used as a key or a root."""
        self._alive[id(obj)] = obj
        return id(obj)

    def once(self, tag: str, node: cst.CSTNode) -> bool:
        """True the first time a (tag, node) is seen: every rule of the family feeds the flow, once."""
        key = (tag, id(node))
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def record_fit(self, call: cst.Call) -> None:
        """`t.fit(X)`, `t.fit_transform(X)`: remember what the receiver was fitted on."""
        method = self.x.method(call)
        if method not in FIT_METHODS or not isinstance(call.func, cst.Attribute):
            return
        receiver = call.func.value
        if not isinstance(receiver, cst.Name) or not call.args:
            return
        b = self.r.lookup(receiver.value)
        if b is None:
            return
        data = self.arg_value(call)
        self.fits.setdefault(self.key(b), []).append((self.r.seq, call, data, receiver.value))

    def record_drop(self, call: cst.Call) -> None:
        """`df.pop("y")`, `df.drop(columns="y", inplace=True)`: columns removed from a name in place; and
        `df.fillna(df.mean(), inplace=True)`: a statistic learned into it in place."""
        method = self.x.method(call)
        if not isinstance(call.func, cst.Attribute) or not isinstance(call.func.value, cst.Name):
            return
        inplace = any(a.keyword is not None and a.keyword.value == "inplace" and dotted(a.value) == "True"
                      for a in call.args)
        if method == "fillna" and inplace and call.args:
            stat = self.statistic(call.args[0].value, self._now(INFINITY))
            if stat is not None:
                learn = Learn(call, "preprocess", stat[0], stat[1], self.r.seq)
                self._inplace_learns.setdefault(call.func.value.value, []).append((self.r.seq + 1, learn))
        if method == "pop" or (method == "drop" and inplace):
            cols = self.dropped_columns(call)
            # Bindings made from here on have a larger seq than the current one.
            self._inplace_drops.setdefault(call.func.value.value, []).append((self.r.seq + 1, cols))

    def record_delete(self, target: cst.BaseExpression) -> None:
        """`del df["y"]`."""
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            index = target.slice[0].slice if len(target.slice) == 1 else None
            cols = self.literal_columns(index.value) if isinstance(index, cst.Index) else None
            self._inplace_drops.setdefault(target.value.value, []).append((self.r.seq + 1, cols))

    def record_mutation(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """After `df["c"] = expr` is bound (a MUTATION binding), remember `expr`."""
        column: frozenset[str] | None = None
        if isinstance(target, cst.Subscript) and len(target.slice) == 1 and isinstance(target.slice[0].slice,
                                                                                        cst.Index):
            column = self.literal_columns(target.slice[0].slice.value)
        while isinstance(target, (cst.Subscript, cst.Attribute)):
            target = target.value
        if isinstance(target, cst.Name):
            b = self.r.lookup(target.value)
            if b is not None and b.aug_op == MUTATION:
                self.mutations[self.key(b)] = value
                self.column_writes.append(ColumnWrite(self.key(b), column, value, b.seq))

    def record_loop(self, node: cst.For) -> Split | None:
        """`for tr, te in kf.split(X, y)` (also under `enumerate`): a split whose index arrays get roles."""
        it: cst.BaseExpression = node.iter
        target: cst.BaseExpression = node.target
        if isinstance(it, cst.Call) and self.r.qualname(it.func) == "builtins.enumerate" and it.args:
            it = it.args[0].value
            if isinstance(target, cst.Tuple) and len(target.elements) == 2:
                target = target.elements[1].value
        split = self.split_of(it)
        if split is None:
            return None
        if isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) >= 2:
            roles: tuple[Role, Role] = ("train", "test")
            for element, role in zip(target.elements[:2], roles, strict=True):
                if isinstance(element.value, cst.Name):
                    b = self.r.lookup(element.value.value)
                    if b is not None:
                        self.loop_roles[self.key(b)] = (self._role(role, split), split)
        return split

    def record_function(self, node: cst.FunctionDef) -> None:
        """Called when the walk leaves a def: its body's bindings are complete, so it can be summarised."""
        b = self.r.lookup(node.name.value)
        if b is not None and b.node is node:
            self.functions[self.key(b)] = node

    # ---- what a receiver is --------------------------------------------------------------------

    def constructor(self, expr: cst.BaseExpression, before: int = INFINITY) -> str | None:
        """The qualified class an object was built from (`sc = StandardScaler()`; `StandardScaler().fit(X)`)."""
        found = self.constructor_call(expr, before)
        return self.r.qualname(found[0].func, found[1]) if found is not None else None

    def constructor_call(self, expr: cst.BaseExpression, before: int = INFINITY) -> tuple[cst.Call, int] | None:
        for _ in range(MAX_DEPTH):
            if isinstance(expr, cst.Name):
                b = self.r.lookup(expr.value, before)
                if b is None or b.value is None or b.unpack_index is not None or b.aug_op is not None:
                    return None
                expr, before = b.value, b.seq
                continue
            if isinstance(expr, cst.Call):
                if self.x.method(expr) in ("fit", "set_params", "set_output"):
                    expr = self.x.receiver(expr)
                    continue
                return expr, before
            if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
                assigned = self._self_attribute(expr.attr.value)
                if assigned is None:
                    return None
                expr, before = assigned, INFINITY
                continue
            return None
        return None

    def _self_attribute(self, attr: str) -> cst.BaseExpression | None:
        """`self.scaler` in a method: the value of the one `self.scaler = ...` of its class (None when the class
        assigns it more than once, or never)."""
        scope = self.r.class_scope()
        if scope is None or scope.parent is None:
            return None
        cls = next((b.node for bindings in scope.parent.names.values() for b in bindings
                    if b.scope is scope and isinstance(b.node, cst.ClassDef)), None)
        if cls is None:
            return None
        key = (id(cls), attr)
        if key not in self._attributes:
            values = [assign.value for assign in nodes_in(cls, cst.Assign) for target in assign.targets
                      if isinstance(target.target, cst.Attribute) and target.target.attr.value == attr
                      and isinstance(target.target.value, cst.Name) and target.target.value.value == "self"]
            self._attributes[key] = values[0] if len(values) == 1 else None
        return self._attributes[key]

    def holds_learner(self, call: cst.Call, before: int, depth: int = 0) -> bool:
        """Whether a Pipeline/ColumnTransformer holds a step that learns a statistic (a `OneHotEncoder` and
        `passthrough` alone learn only the category set)."""
        if depth > 4:
            return False
        pending: list[cst.CSTNode] = [a.value for a in call.args]
        while pending:
            node = pending.pop()
            if isinstance(node, cst.Call):
                name = self.r.qualname(node.func, before)
                if name in LEARNERS or name in TARGET_LEARNERS:
                    return True
                if name in CONTAINERS and self.holds_learner(node, before, depth + 1):
                    return True
                pending.extend(a.value for a in node.args)
            elif isinstance(node, cst.Name):
                found = self.constructor_call(node, before)
                if found is not None:
                    inner, seq = found
                    name = self.r.qualname(inner.func, seq)
                    if name in LEARNERS or name in TARGET_LEARNERS or (
                            name in CONTAINERS and self.holds_learner(inner, seq, depth + 1)):
                        return True
            elif isinstance(node, (cst.List, cst.Tuple)):
                pending.extend(el.value for el in node.elements)
        return False

    def learner_kind(
        self, receiver: cst.BaseExpression, method: str, before: int = INFINITY
    ) -> tuple[LearnKind, str] | None:
        cls = self.constructor(receiver, before)
        if cls is None:
            return None
        short = cls.rsplit(".", 1)[-1]
        if cls in LEARNERS and method in ("fit", "fit_transform"):
            return "preprocess", f"a `{short}` is fitted"
        if cls in TARGET_LEARNERS and method in ("fit", "fit_transform"):
            return "target", f"a `{short}` is fitted"
        if cls in CONTAINERS and method == "fit_transform":
            found = self.constructor_call(receiver, before)
            if found is not None and self.holds_learner(*found):
                return "preprocess", f"a `{short}` is fitted"
            return None
        if cls in OVERSAMPLERS and method in ("fit_resample", "fit_sample"):
            return "oversample", f"`{short}` resamples"
        if is_image_generator(cls) and method == "fit":
            found = self.constructor_call(receiver, before)
            if found is not None and any(dotted(value) not in ("False", "None", "0") for value in (
                    self.x.arg(found[0], 99, option) for option in FEATUREWISE) if value is not None):
                return "preprocess", f"a `{short}` is fitted for its featurewise statistics"
        return None

    def fit_of(
        self, receiver: cst.BaseExpression, before: int = INFINITY
    ) -> tuple[cst.Call, Value, LearnKind, str] | None:
        """The fit a transformer's `transform` uses: its last `fit` call, or `StandardScaler().fit(X)` assigned."""
        if not isinstance(receiver, cst.Name):
            return None
        b = self.r.lookup(receiver.value, before)
        if b is None:
            return None
        fits = [f for f in self.fits.get(self.key(b), []) if f[0] < before]
        call: cst.Call | None = None
        data = EMPTY
        if fits:
            _, call, data, _ = fits[-1]
        elif isinstance(b.value, cst.Call) and self.x.method(b.value) == "fit" and b.value.args:
            call, data = b.value, self.arg_value(b.value, b.seq)
        if call is None:
            return None
        kind = self.learner_kind(self.x.receiver(call), "fit", before)
        if kind is None:
            return None
        return call, data, kind[0], kind[1]

    # ---- splits --------------------------------------------------------------------------------

    def split_of(self, call: cst.BaseExpression, before: int = INFINITY) -> Split | None:
        """The split a call performs (train_test_split, a splitter's `.split`, a CV function, a search's
        `.fit`, a helper of the file that splits), or None."""
        if not isinstance(call, cst.Call):
            return None
        before = self._now(before)
        key = (id(call), before)
        if key in self._split_asked:
            return self._split_asked[key]
        found = self._split_asked[key] = self._find_split(call, before)
        return found

    def _find_split(self, call: cst.Call, before: int) -> Split | None:
        name = self.r.qualname(call.func, before)
        arrays: tuple[cst.BaseExpression, ...] = ()
        kind = None
        if name in SPLIT_FUNCS:
            arrays = tuple(a.value for a in call.args if a.keyword is None and not a.star)
            kind = "train_test_split"
        elif name in CV_FUNCS:
            arrays = tuple(v for v in (self.x.arg(call, 1, "X"), self.x.arg(call, 2, "y")) if v is not None)
            kind = name.rsplit(".", 1)[-1]
        elif isinstance(call.func, cst.Attribute):
            method = call.func.attr.value
            cls = self.constructor(call.func.value, before)
            if method == "split" and cls in SPLITTERS:
                arrays = tuple(a.value for a in call.args if a.keyword is None and not a.star)[:2]
                kind = f"{cls.rsplit('.', 1)[-1]}.split"
            elif method == "fit" and cls in SEARCHES:
                arrays = tuple(a.value for a in call.args if a.keyword is None and not a.star)[:2]
                kind = f"{cls.rsplit('.', 1)[-1]}.fit"
        if kind is None and name is None:
            summary = self.local_summary(call, before)
            if summary is not None and summary.splits is not None:
                arrays = tuple(a.value for a in call.args if a.keyword is None and not a.star)
                kind = f"{_short(call.func)}() ({summary.splits})"
        if kind is None:
            helper = self.project_helper(call, before, splits=True)
            if helper is not None and helper.splits is not None:
                arrays = helper.split_arrays(call)
                kind = f"{helper.name}() ({helper.splits})"
        if kind is None or not arrays:
            return None
        cached = self._split_at.get(id(call))
        if cached is not None:
            return cached
        data = EMPTY
        for a in arrays:
            data = data | self.value(a, before)
        split = self._split_at[id(call)] = Split(call, kind, data, self._now(before), arrays)
        return split

    @property
    def split_seen(self) -> bool:
        """Whether a split has been found so far (a part with a role comes from one)."""
        return bool(self._split_at)

    @staticmethod
    def _role(role: Role, split: Split) -> Role:
        """The test part of a split of training rows is a validation set."""
        if role == "test" and split.data.role == "train":
            return "val"
        return role

    # ---- helpers of the file -------------------------------------------------------------------

    def helper(self, func: cst.Name, before: int = INFINITY) -> HelperSummary | None:
        b = self.r.lookup(func.value, before)
        return self._summary_of(b) if b is not None else None

    def method(self, call: cst.Call, before: int = INFINITY) -> HelperSummary | None:
        """`self.prep(X)` in a method of the class of the file that defines `prep`, or `p.prep(X)` after
        `p = Prep()`: that method's summary (its first parameter stands for the receiver). Read from the code
        only: a method defined in a base class, or a static method, is not followed."""
        func = call.func
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
            return None
        receiver = func.value.value
        scope = self.r.class_scope() if receiver == "self" else None
        if scope is None:
            found = self.constructor_call(func.value, before)
            if found is None or not isinstance(found[0].func, cst.Name):
                return None
            cls = self.r.lookup(found[0].func.value, found[1])
            if cls is None or not isinstance(cls.node, cst.ClassDef):
                return None
            scope = cls.scope
        methods = scope.names.get(func.attr.value) if scope is not None else None
        if not methods or not isinstance(methods[-1].node, cst.FunctionDef) or any(
                dotted(d.decorator) in ("staticmethod", "classmethod") for d in methods[-1].node.decorators):
            return None
        return self._summary_of(methods[-1])

    def summarised(self, call: cst.Call, worth: Callable[[cst.Call], bool] = lambda call: True) -> bool:
        """Whether the call's value comes from a summary: a function or method of the file, or a function of
        another checked module that learns from or splits rows (asked only when the call is `worth` the parse
        of the function's module slice)."""
        return self.local_summary(call) is not None or (worth(call) and self.project_helper(call) is not None)

    def local_summary(self, call: cst.Call, before: int = INFINITY) -> HelperSummary | None:
        """The summary of the function (`helper`) or method (`method`) of the file that `call` calls, if one."""
        return self.helper(call.func, before) if isinstance(call.func, cst.Name) else self.method(call, before)

    def project_helper(self, call: cst.Call, before: int = INFINITY,
                       splits: bool = False) -> ProjectHelper | None:
        """The summary of a function of another checked module called here (a relative import resolves only as
        the project's name), or None. With `splits`, only one whose text may split: every call is asked whether
        it splits, and a summary costs a parse of its module's slice."""
        if self.project is None:
            return None
        name = self.r.qualname(call.func, before)
        qualified = name if name is not None else self.r.qualname(call.func, before, project=True)
        if qualified is None:
            return None
        return self.project.leak_summary(qualified, SPLIT_WORDS) if splits else self.project.leak_summary(qualified)

    def split_roles(self, call: cst.BaseExpression, before: int = INFINITY) -> dict[int, Role]:
        """The roles of the returned tuple's positions of a call that splits (`train_test_split`, a helper of
        the file or of another module that returns its parts)."""
        if not isinstance(call, cst.Call):
            return {}
        if self.r.qualname(call.func, before) in SPLIT_FUNCS:
            n = len([a for a in call.args if a.keyword is None and not a.star])
            return {i: ("train" if i % 2 == 0 else "test") for i in range(2 * n)}
        summary = self.local_summary(call, before)
        if summary is not None:
            return summary.output_roles
        helper = self.project_helper(call, before, splits=True)
        return dict(helper.output_roles) if helper is not None else {}

    def _summary_of(self, b: Binding) -> HelperSummary | None:
        if self.key(b) not in self.functions or b.scope is None:
            return None
        key = self.key(b)
        if key not in self._summaries:
            if key in self._busy:  # recursion: what the outer evaluation knows so far
                return None
            self._busy.add(key)
            try:
                self._summaries[key] = self._summarise(self.functions[key], b.scope)
            finally:
                self._busy.discard(key)
        return self._summaries[key]

    def _returned(self, scope: Scope) -> Value | None:
        """The union of a function's `return` values, evaluated in its own scope (its parameters are roots)."""
        out: Value | None = None
        saved = self.r.scope
        try:
            for ret in scope.returns:
                assert ret.value is not None and ret.scope is not None
                self.r.scope = ret.scope
                value = self.value(ret.value, ret.seq)
                out = value if out is None else out | value
        finally:
            self.r.scope = saved
        return out

    def apply(self, summary: HelperSummary, call: cst.Call, before: int, depth: int,
              receiver: cst.BaseExpression | None = None) -> Value:
        """What `helper(args)` returns here: the summary's parameter roots replaced by the arguments' values;
        a statistic the helper learns from a parameter is reported at this call ("(in `prepare()`)"). For a
        method, `receiver` stands for its first parameter (`self`)."""
        assert summary.returned is not None
        args: dict[int, Value] = {}
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        if receiver is not None:
            positional.insert(0, receiver)
        for i, (name, root) in enumerate(summary.params):
            expr = positional[i] if i < min(len(positional), summary.positional) else keywords.get(name)
            if expr is not None:
                args[root] = self.value(expr, before, depth)

        def substitute(value: Value) -> Value:
            out = Value(value.roots - summary.param_roots, value.learned, value.role, value.split)
            for root in value.roots & summary.param_roots:
                out = out | args.get(root, EMPTY)
            return out

        returned = summary.returned
        local = frozenset(learn for learn in returned.learned if learn.data.roots.isdisjoint(summary.param_roots))
        out = Value(returned.roots - summary.param_roots, local, returned.role, returned.split)
        for root in returned.roots & summary.param_roots:
            out = out | args.get(root, EMPTY)
        learned = set(out.learned)
        for learn in returned.learned - local:
            seen = self._applied.get((id(call), id(learn)))
            if seen is None:
                what = _within(learn.what, summary.name if receiver is None else _short(call.func))
                seen = Learn(call, learn.kind, what, substitute(learn.data), before, learn.cls)
                self._applied[(id(call), id(learn))] = seen
            learned.add(seen)
        return Value(out.roots, frozenset(learned), out.role, out.split)

    def export(self, name: str, qualname: str) -> ProjectHelper | None:
        """This module's function `name` as a call from another module sees it (None when it learns nothing
        from rows: then the caller's default, rows passing through, is as good)."""
        summary = self.helper(cst.Name(name))
        if summary is None or (summary.splits is None and (summary.returned is None
                                                          or not summary.returned.learned)):
            return None
        index = {root: i for i, (_, root) in enumerate(summary.params)}
        params = frozenset(index)
        returned = summary.returned or EMPTY

        def positions(roots: frozenset[int]) -> frozenset[int]:
            return frozenset(index[root] for root in roots if root in index)

        learned = tuple(
            (learn.kind, learn.what, learn.cls, positions(learn.data.roots), bool(learn.data.roots - params))
            for learn in sorted(returned.learned, key=lambda learn: (learn.seq, learn.what)))
        return ProjectHelper(qualname, tuple(n for n, _ in summary.params), summary.positional,
                             positions(returned.roots), bool(returned.roots - params), learned, summary.splits,
                             tuple(sorted(summary.output_roles.items())))

    def _apply_project(self, helper: ProjectHelper, call: cst.Call, before: int, depth: int) -> Value:
        """What `helper(args)` returns here, for a function of another module: as `apply`, by position."""
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        args: list[Value] = []
        for i, name in enumerate(helper.params):
            expr = positional[i] if i < min(len(positional), helper.positional) else keywords.get(name)
            args.append(self.value(expr, before, depth) if expr is not None else EMPTY)
        own = Value(frozenset({id(call)}))

        def rows(params: frozenset[int], mine: bool) -> Value:
            out = own if mine else EMPTY
            for i in sorted(params):
                out = out | args[i]
            # Rows from no known source (a path, a literal) start at the call, as a reader's do.
            return out if out.roots else Value(own.roots, out.learned)

        out = rows(helper.flows, helper.own_rows)
        learned = set(out.learned)
        for n, (kind, what, cls, params, mine) in enumerate(helper.learned):
            seen = self._applied.get((id(call), -1 - n))
            if seen is None:
                seen = Learn(call, kind, _within(what, helper.name), rows(params, mine), before, cls)
                self._applied[(id(call), -1 - n)] = seen
            learned.add(seen)
        return Value(out.roots, frozenset(learned), out.role, out.split)

    def _summarise(self, fn: cst.FunctionDef, scope: Scope) -> HelperSummary:
        """Read a function's body once: what it returns in terms of its parameters, and whether it splits
        what it is given (and which returned positions are the train and test parts)."""
        positional = [p.name.value for p in (*fn.params.posonly_params, *fn.params.params)]
        names = positional + [p.name.value for p in fn.params.kwonly_params]
        params = tuple((n, self.key(scope.names[n][0])) for n in names if scope.names.get(n))
        summary = HelperSummary(fn.name.value, params, positional=len(positional))
        split_outputs: dict[str, Role] = {}
        returns: list[cst.BaseExpression] = []
        outer = self

        def mentions_param(expr: cst.CSTNode) -> bool:
            return any(n.value in names for n in nodes_in(expr, cst.Name))

        class Reader(cst.CSTVisitor):
            def visit_Assign(self, node: cst.Assign) -> None:
                value = node.value
                target = node.targets[0].target
                if isinstance(target, (cst.Tuple, cst.List)) and mentions_param(value):
                    roles = outer.split_roles(value)
                    for i, el in enumerate(target.elements):
                        if isinstance(el.value, cst.Name) and i in roles:
                            split_outputs[el.value.value] = roles[i]

            def visit_Call(self, node: cst.Call) -> None:
                # A split of what it is given: train_test_split, a splitter, a CV function, a helper that splits.
                if summary.splits is None:
                    split = outer.split_of(node)
                    if split is not None and mentions_param(node):
                        summary.splits = split.kind

            def visit_Return(self, node: cst.Return) -> None:
                if node.value is not None:
                    returns.append(node.value)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return node is fn  # nested functions are their own helpers

        saved = self.r.scope
        self.r.scope = scope  # the body's names resolve as they did when it was walked
        try:
            visit(fn, Reader())
            for ret in returns:
                if isinstance(ret, cst.Call) and self.split_roles(ret):
                    summary.output_roles = self.split_roles(ret)
                elif isinstance(ret, (cst.Tuple, cst.List)):
                    roles = {i: split_outputs[el.value.value] for i, el in enumerate(ret.elements)
                             if isinstance(el.value, cst.Name) and el.value.value in split_outputs}
                    if roles:
                        summary.output_roles = roles
        finally:
            self.r.scope = saved
        summary.returned = self._returned(scope) if scope.returns else None
        return summary

    # ---- values --------------------------------------------------------------------------------

    def arg_value(self, call: cst.Call, before: int = INFINITY) -> Value:
        first = self.x.arg(call, 0, "X")
        return self.value(first, before) if first is not None else EMPTY

    def _now(self, before: int) -> int:
        """A point of the file: INFINITY means "here", which must not be cached as INFINITY (later
        bindings would change the answer)."""
        return self.r.seq + 1 if before == INFINITY else before

    def value(self, node: cst.BaseExpression, before: int = INFINITY, depth: int = 0) -> Value:
        before = self._now(before)
        key = (id(node), before)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if depth > MAX_DEPTH:
            return EMPTY
        out = self._value(node, before, depth + 1)
        self._cache[key] = out
        return out

    def _binding_value(self, name: str, b: Binding, depth: int) -> Value:
        loop = self.loop_roles.get(self.key(b))
        if loop is not None:
            return Value(frozenset({self.key(b)}), frozenset(), loop[0], loop[1])
        if b.aug_op == MUTATION:
            prev = self.r.lookup(name, b.seq)
            base = self._binding_value(name, prev, depth + 1) if prev is not None else Value(frozenset({self.key(b)}))
            assigned = self.mutations.get(self.key(b))
            return base | self.value(assigned, b.seq, depth) if assigned is not None else base
        if b.value is None or b.qualname is not None:
            return Value(frozenset({self.key(b)}))
        if b.aug_op is not None:
            prev = self.r.lookup(name, b.seq)
            base = self._binding_value(name, prev, depth + 1) if prev is not None else EMPTY
            return base | self.value(b.value, b.seq, depth)
        if b.unpack_index is not None:
            return self._unpacked(b, depth)
        return self.value(b.value, b.seq, depth)

    def _unpacked(self, b: Binding, depth: int) -> Value:
        """`X_tr, X_te, y_tr, y_te = train_test_split(X, y)` (or a helper that splits): one part, with its role."""
        rhs = b.value
        assert rhs is not None and b.unpack_index is not None
        index = b.unpack_index
        split = self.split_of(rhs, b.seq)
        if split is not None and isinstance(rhs, cst.Call):
            if split.kind == "train_test_split":
                arrays = split.arrays
                if index // 2 < len(arrays):
                    part = self.value(arrays[index // 2], b.seq, depth)
                    role: Role = "train" if index % 2 == 0 else "test"
                    return Value(part.roots, part.learned, self._role(role, split), split)
            else:
                helper_role = self.split_roles(rhs, b.seq).get(index)
                if helper_role is not None:
                    return Value(split.data.roots, split.data.learned, self._role(helper_role, split), split)
            return Value(split.data.roots, split.data.learned)
        whole = self.value(rhs, b.seq, depth)
        if not whole.roots:
            return Value(frozenset({id(rhs)}), whole.learned)
        return Value(whole.roots, whole.learned)

    def _value(self, node: cst.BaseExpression, before: int, depth: int) -> Value:
        if isinstance(node, cst.Name):
            b = self.r.lookup(node.value, before)
            if b is None:
                if node.value in ("None", "True", "False"):
                    return EMPTY
                return Value(frozenset({hash(("free", node.value))}))
            out = self._binding_value(node.value, b, depth)
            inplace = [learn for seq, learn in self._inplace_learns.get(node.value, ()) if b.seq < seq <= before]
            if inplace:
                out = Value(out.roots, out.learned | frozenset(inplace), out.role, out.split)
            return out
        if isinstance(node, cst.Attribute):
            return self.value(node.value, before, depth)
        if isinstance(node, cst.Subscript):
            base = self.value(node.value, before, depth)
            for element in node.slice:
                if isinstance(element.slice, cst.Index):
                    index = self.value(element.slice.value, before, depth)
                    if index.role is not None:
                        return Value(base.roots | index.roots, base.learned | index.learned, index.role, index.split)
                    base = self._chosen_by_correlation(base, element.slice.value, before)
            return base
        if isinstance(node, (cst.Tuple, cst.List)):
            out = EMPTY
            for el in node.elements:
                out = out | self.value(el.value, before, depth)
            return out
        if isinstance(node, cst.BinaryOperation):
            out = self.value(node.left, before, depth) | self.value(node.right, before, depth)
            # A division by a statistic scales the rows (`(df - df.mean()) / df.std()`, `X / X.max()`); a shift
            # alone (`X - X.min()`) is a translation of every row: nothing a model's score depends on.
            if isinstance(node.operator, cst.Divide):
                stat = self.statistic(node.right, before)
                if stat is not None:
                    what, data = stat
                    # `(df - df.mean()) / df.std()` is one standardisation: one statistic, at the outer node.
                    inner = frozenset(learn for learn in out.learned if learn.node is not node.left)
                    learn = Learn(node, "preprocess", what, data, before)
                    out = Value(out.roots, inner | {learn}, out.role, out.split)
            return out
        if isinstance(node, cst.UnaryOperation):
            return self.value(node.expression, before, depth)
        if isinstance(node, cst.Call):
            return self._call_value(node, before, depth)
        return EMPTY

    def statistic(self, node: cst.BaseExpression, before: int) -> tuple[str, Value] | None:
        """`df.mean()`, `X.std(axis=0)`, `np.mean(X, axis=0)`, `(df.max() - df.min())`: a statistic of rows."""
        if isinstance(node, cst.BinaryOperation):
            return self.statistic(node.left, before) or self.statistic(node.right, before)
        if not isinstance(node, cst.Call):
            return None
        method = self.x.method(node)
        if method in STAT_METHODS and self.r.qualname(node.func, before) is None:
            data = self.value(self.x.receiver(node), before)
            if data.roots:
                return f"the statistic `{_short(node)}` is computed", data
        if self.r.qualname(node.func, before) in STAT_FUNCS and node.args:
            data = self.value(node.args[0].value, before)
            if data.roots:
                return f"the statistic `{_short(node)}` is computed", data
        return None

    def _call_value(self, node: cst.Call, before: int, depth: int) -> Value:
        name = self.r.qualname(node.func, before)
        args = [a.value for a in node.args
                if not (a.keyword is not None and a.keyword.value in ("axis", "columns"))]
        helper = self.project_helper(node, before)
        if helper is not None:
            return self._apply_project(helper, node, before, depth)
        if name is not None:
            if name in SCALING_FUNCS and node.args:
                data = self.value(node.args[0].value, before, depth)
                learn = Learn(node, "preprocess", f"`{name.rsplit('.', 1)[-1]}()` is computed", data, before)
                return Value(data.roots, data.learned | {learn}, data.role, data.split)
            if name in RESAMPLE_FUNCS and node.args and not _replace_false(node):
                data = self.value(node.args[0].value, before, depth)
                learn = Learn(node, "oversample", "`resample(..., replace=True)` draws", data, before)
                return Value(data.roots, data.learned | {learn}, data.role, data.split)
            out = EMPTY
            for a in args:
                out = out | self.value(a, before, depth)
            if out.roots and self.duplicates_rows(node, name, before):
                learn = Learn(node, "oversample", f"`{_short(node)}` duplicates", out, before, COPIES)
                return Value(out.roots, out.learned | {learn}, out.role, out.split)
            if not out.roots:  # a reader, a generator or a loader: the rows start here
                return Value(frozenset({id(node)}), out.learned)
            return out
        if isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            receiver = node.func.value
            bound = self.method(node, before)
            if bound is not None:
                return self.apply(bound, node, before, depth, receiver) if bound.returned is not None else EMPTY
            if method in FIT_METHODS:
                data = self.arg_value(node, before)
                kind = self.learner_kind(receiver, method, before)
                if kind is not None and method != "fit":
                    learn = Learn(node, kind[0], kind[1], data, before)
                    return Value(data.roots, data.learned | {learn}, data.role, data.split)
                return data
            if method == "transform":
                data = self.arg_value(node, before)
                fit = self.fit_of(receiver, before)
                if fit is not None:
                    call, fitted, fit_kind, what = fit
                    learn = Learn(call, fit_kind, what, fitted, before)
                    return Value(data.roots, data.learned | {learn}, data.role, data.split)
                return self.value(receiver, before, depth) | data if not data.roots else data
            if method in PREDICT_METHODS:
                return self.arg_value(node, before)
            if method == "fillna" and node.args:
                base = self.value(receiver, before, depth)
                stat = self.statistic(node.args[0].value, before)
                if stat is not None:
                    learn = Learn(node, "preprocess", stat[0], stat[1], before)
                    return Value(base.roots, base.learned | {learn}, base.role, base.split)
                return base
            if method == "apply" and node.args and (
                    self.r.qualname(node.args[0].value, before) in SCALING_FUNCS):
                base = self.value(receiver, before, depth)
                zscored = Learn(node, "preprocess", "`apply(zscore)` is computed", base, before)
                return Value(base.roots, base.learned | {zscored},
                             base.role, base.split)
            out = self.value(receiver, before, depth)
            if method in ("merge", "join", "append", "concat"):
                for a in args:
                    out = out | self.value(a, before, depth)
            if method == "drop":  # `df.drop(columns=weak)`, `weak` from `df.corr()["y"]`
                dropped = self.x.arg(node, 99, "columns") or self.x.arg(node, 0, "labels")
                if dropped is not None:
                    out = self._chosen_by_correlation(out, dropped, before)
            return out
        if isinstance(node.func, cst.Name):
            summary = self.helper(node.func, before)
            if summary is not None:
                return self.apply(summary, node, before, depth) if summary.returned is not None else EMPTY
            out = EMPTY
            for a in args:
                out = out | self.value(a, before, depth)
            if not out.roots:
                return Value(frozenset({id(node)}), out.learned)
            return out
        return EMPTY

    # ---- rows stacked twice (augmentation, duplication) ---------------------------------------

    def duplicates_rows(self, call: cst.Call, name: str, before: int) -> bool:
        """`np.concatenate([X, X + noise])`, `pd.concat([df, df[df.y == 1]])`, `np.vstack([X, np.flip(X, 2)])`,
        `np.repeat(X, 3, axis=0)`: the same rows (or copies of them) stacked twice. Parts that are both
        selections of one frame (`df[df.y == 0]`, `df[df.y == 1]`) are not: they may not overlap."""
        if name == "numpy.repeat":  # without an axis it flattens
            axis = self.x.arg(call, 2, "axis")
            return axis is not None and _rows_axis(axis) and self.x.arg(call) is not None
        if name == "numpy.append":  # without an axis it flattens
            axis = self.x.arg(call, 2, "axis")
            if axis is None or not _rows_axis(axis):
                return False
            parts = [p for p in (self.x.arg(call, 0, "arr"), self.x.arg(call, 1, "values")) if p is not None]
        else:
            axis = self.x.arg(call, 1, "axis") if name in ("pandas.concat", "numpy.concatenate") else None
            if axis is not None and not _rows_axis(axis):
                return False
            listed, seq = self.x.follow(self.x.arg(call) or call, before)
            if not isinstance(listed, (cst.List, cst.Tuple)):
                return False
            parts = [el.value for el in listed.elements if not isinstance(el, cst.StarredElement)]
            before = seq
        origins = [self.row_origins(part, before) for part in parts]
        for i, first in enumerate(origins):
            for second in origins[i + 1:]:
                for key, selected in first:
                    if any(key == other and not (selected and other_selected) for other, other_selected in second):
                        return True
        return False

    def row_origins(self, expr: cst.BaseExpression, before: int, depth: int = 0) -> set[tuple[int, bool]]:
        """The frames whose rows `expr` holds, each with whether only a selection of its rows is kept
        (`df[df.y == 1]`, `X[:100]`, `df.sample(...)`); columns selected or values changed keep every row."""
        if depth > MAX_DEPTH:
            return set()
        if isinstance(expr, cst.Name):
            b = self.r.lookup(expr.value, before)
            if b is None:
                return {(hash(("free", expr.value)), False)}
            if b.aug_op is not None:  # `df["c"] = ...`, `X += noise`: the same rows, changed
                prev = self.r.lookup(expr.value, b.seq)
                return self.row_origins(expr, b.seq, depth + 1) if prev is not None else {(self.key(b), False)}
            if b.unpack_index is not None and b.value is not None:
                augmented = self._augmented_batch(b.value, b.seq)
                if augmented is not None and b.unpack_index < len(augmented):  # `X_aug, y_aug = next(flow)`
                    return {(key, True) for key, _ in self.row_origins(augmented[b.unpack_index], b.seq, depth + 1)}
            if b.value is None or b.unpack_index is not None or b.qualname is not None:
                return {(self.key(b), False)}
            return self.row_origins(b.value, b.seq, depth + 1)
        if isinstance(expr, cst.Attribute):
            return self.row_origins(expr.value, before, depth + 1)
        if isinstance(expr, cst.BinaryOperation):
            return self.row_origins(expr.left, before, depth + 1) | self.row_origins(expr.right, before, depth + 1)
        if isinstance(expr, cst.UnaryOperation):
            return self.row_origins(expr.expression, before, depth + 1)
        if isinstance(expr, cst.Subscript):
            selected = self._selects_rows(expr, before)
            return {(key, sel or selected) for key, sel in self.row_origins(expr.value, before, depth + 1)}
        if isinstance(expr, cst.Call):
            name = self.r.qualname(expr.func, before)
            first = self.x.arg(expr)
            if name in ROW_KEEPING_FUNCS and first is not None:
                return self.row_origins(first, before, depth + 1)
            augmented = self._augmented_batch(expr, before)
            if augmented:  # `next(datagen.flow(X, y))`: a batch of augmented copies of X's rows
                return {(key, True) for key, _ in self.row_origins(augmented[0], before, depth + 1)}
            if first is not None and self._augments(expr.func, before):  # `augment(X)`, `RandomFlip()(X)`
                return self.row_origins(first, before, depth + 1)
            if name is None and isinstance(expr.func, cst.Attribute):
                method = expr.func.attr.value
                receiver = expr.func.value
                if method == "drop":  # `drop(columns=...)`, `drop(c, axis=1)` keep every row
                    axis = self.x.arg(expr, 1, "axis")
                    keeps = self.x.arg(expr, 99, "columns") is not None or (axis is not None and not _rows_axis(axis))
                    return {(key, sel or not keeps) for key, sel in self.row_origins(receiver, before, depth + 1)}
                if method in ROW_KEEPING_METHODS:
                    return self.row_origins(receiver, before, depth + 1)
                if method in ROW_SELECTING_METHODS:
                    return {(key, True) for key, _ in self.row_origins(receiver, before, depth + 1)}
            if isinstance(expr.func, cst.Name) and first is not None:
                summary = self.helper(expr.func, before)
                returned = summary.returned if summary is not None else None
                if summary is not None and returned is not None and summary.params and (
                        summary.params[0][1] in returned.roots):
                    return self.row_origins(first, before, depth + 1)  # `augment(X)` returns X's rows, changed
            return {(id(expr), False)}
        return set()

    def _augmented_batch(self, expr: cst.BaseExpression,
                         before: int) -> tuple[cst.BaseExpression, ...] | None:
        """`next(datagen.flow(X, y))` (through names): the arrays whose augmented copies the batch holds."""
        expr, before = self.x.follow(expr, before)
        if not isinstance(expr, cst.Call) or self.r.qualname(expr.func, before) != "builtins.next" or not expr.args:
            return None
        flow, before = self.x.follow(expr.args[0].value, before)
        if not isinstance(flow, cst.Call) or self.x.method(flow) != "flow" or not is_image_generator(
                self.constructor(self.x.receiver(flow), before)):
            return None
        return tuple(a.value for a in flow.args if a.keyword is None and not a.star)[:2]

    def _augments(self, func: cst.BaseExpression, before: int) -> bool:
        """A Keras augmentation layer, or a `Sequential` of them, called on images: a changed copy of each."""
        found = self.constructor_call(func, before) if isinstance(func, cst.Name) else (
            (func, before) if isinstance(func, cst.Call) else None)
        if found is None:
            return False
        call, seq = found
        name = self.r.qualname(call.func, seq)
        if is_augmentation_layer(name):
            return True
        if name is None or not name.startswith(_KERAS_ROOTS) or not name.endswith(".Sequential") or not call.args:
            return False
        layers, seq = self.x.follow(call.args[0].value, seq)
        return isinstance(layers, (cst.List, cst.Tuple)) and bool(layers.elements) and all(
            isinstance(el.value, cst.Call) and is_augmentation_layer(self.r.qualname(el.value.func, seq))
            for el in layers.elements)

    def _selects_rows(self, expr: cst.Subscript, before: int) -> bool:
        """`df[mask]`, `X[:100]`, `df.loc[mask, cols]`: a subset of the rows; `df[["a", "b"]]`, `X[:, 1:]`,
        `df.loc[:, cols]`: every row."""
        elements = expr.slice
        first = elements[0].slice if elements else None
        if first is None:
            return False
        if isinstance(first, cst.Slice):
            return not (first.lower is None and first.upper is None and first.step is None)
        if len(elements) == 1 and isinstance(first, cst.Index) and not (
                isinstance(expr.value, cst.Attribute) and expr.value.attr.value in ("loc", "iloc")):
            return self.literal_columns(first.value, before) is None  # a column name keeps every row
        return True

    # ---- columns chosen by their correlation with a column -----------------------------------

    def _chosen_by_correlation(self, base: Value, columns: cst.BaseExpression, before: int) -> Value:
        """`df[top]` / `df.drop(columns=weak)` where the column list comes from `df.corr()["y"]` or
        `X.corrwith(y)`: a supervised selection learned from the rows, like `SelectKBest`."""
        if not base.roots or isinstance(columns, (cst.SimpleString, cst.Slice, cst.Integer)):
            return base
        found = self.correlation_with(columns, before)
        if found is None:
            return base
        corr, target = found
        what = f"columns are chosen by their correlation with {sorted(target)[0]!r} (`{_short(corr)}`)"
        data = self.value(self.x.receiver(corr), before) if isinstance(corr, cst.Call) else base
        learn = Learn(corr, "preprocess", what, data, before, "SelectKBest", target)
        return Value(base.roots, base.learned | {learn}, base.role, base.split)

    def correlation_with(self, expr: cst.BaseExpression, before: int,
                         depth: int = 0) -> tuple[cst.CSTNode, frozenset[str]] | None:
        """The correlation a column list is derived from (through names, `.abs()`, `.sort_values()`,
        `.index`, comparisons, comprehensions): `df.corr()["price"]` -> (the subscript, {"price"});
        `X.corrwith(df["price"])` -> (the call, {"price"})."""
        key = (id(expr), before)
        if key in self._corr_cache:
            return self._corr_cache[key]
        self._corr_cache[key] = None  # a name defined through itself stops here
        if depth > 6:
            return None
        found: tuple[cst.CSTNode, frozenset[str]] | None = None
        outer = self

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> bool:
                nonlocal found
                if found is None and Exprs.method(call) == "corrwith" and call.args:
                    labels = outer.target_columns(call.args[0].value, before)
                    if labels is not None:
                        found = (call, labels[0])
                return found is None

            def visit_Subscript(self, sub: cst.Subscript) -> bool:
                nonlocal found
                if found is None and len(sub.slice) == 1 and isinstance(sub.slice[0].slice, cst.Index):
                    matrix, _ = outer.x.follow(sub.value, before)
                    if isinstance(matrix, cst.Call) and Exprs.method(matrix) == "corr":
                        cols = outer.literal_columns(sub.slice[0].slice.value, before)
                        if cols:
                            found = (sub, cols)
                return found is None

            def visit_Name(self, name: cst.Name) -> None:
                nonlocal found
                if found is None:
                    b = outer.r.lookup(name.value, before)
                    if b is not None and b.value is not None and b.unpack_index is None and b.aug_op is None:
                        found = outer.correlation_with(b.value, b.seq, depth + 1)

        visit(expr, Finder())
        self._corr_cache[key] = found
        return found

    # ---- columns (target in the features) ------------------------------------------------------

    def literal_columns(self, expr: cst.BaseExpression, before: int = INFINITY) -> frozenset[str] | None:
        """The column names a literal (or a name bound to one) spells, else None."""
        expr, before = self.x.follow(expr, before)
        if isinstance(expr, cst.SimpleString):
            return frozenset({expr.evaluated_value}) if isinstance(expr.evaluated_value, str) else None
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            out: set[str] = set()
            for el in expr.elements:
                inner = self.literal_columns(el.value, before)
                if inner is None:
                    return None
                out |= inner
            return frozenset(out)
        return None

    def dropped_columns(self, call: cst.Call) -> frozenset[str] | None:
        cols = self.x.arg(call, 0, "labels") if self.x.method(call) == "drop" else self.x.arg(call, 0, "item")
        if cols is None:
            cols = self.x.arg(call, 99, "columns")
        return self.literal_columns(cols) if cols is not None else None

    def target_columns(self, y: cst.BaseExpression, before: int = INFINITY) -> tuple[frozenset[str], int] | None:
        """`y = df["price"]` / `df.price` / `df.pop("price")` / `df[["price"]]`: (the columns, the frame's
        binding id)."""
        expr, before = self.x.follow(y, before)
        while isinstance(expr, cst.Attribute) and expr.attr.value in ("values",):
            expr, before = self.x.follow(expr.value, before)
        if isinstance(expr, cst.Call) and self.x.method(expr) in _LABEL_CODINGS:
            return self.target_columns(self.x.receiver(expr), before)
        frame: cst.BaseExpression | None = None
        cols: frozenset[str] | None = None
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
            frame, cols = expr.value, self.literal_columns(expr.slice[0].slice.value, before)
        elif (isinstance(expr, cst.Subscript) and len(expr.slice) == 2 and isinstance(expr.value, cst.Attribute)
              and expr.value.attr.value == "loc" and isinstance(expr.slice[1].slice, cst.Index)):
            frame, cols = expr.value.value, self.literal_columns(expr.slice[1].slice.value, before)  # df.loc[m, "y"]
        elif isinstance(expr, cst.Call) and self.x.method(expr) == "pop":
            frame, cols = self.x.receiver(expr), self.dropped_columns(expr)
        while isinstance(frame, cst.Subscript) and _row_filter(frame):  # `df[df.year < 2020]["price"]`
            frame = frame.value
        if frame is None or not cols or not isinstance(frame, cst.Name):
            return None
        b = self.r.lookup(frame.value, before)
        return (cols, self.key(b)) if b is not None else None

    def label_sources(self, y: cst.BaseExpression,
                      before: int = INFINITY) -> tuple[frozenset[str], int, cst.BaseExpression] | None:
        """Labels computed from columns of one frame (`(df["quality"] >= 7).astype(int)`,
        `np.where(df["churn"] == "Yes", 1, 0)`): (the columns read, the frame's binding id, the expression)."""
        expr, before = self.x.follow(y, before)
        cols: set[str] = set()
        frames: set[int] = set()
        # A column read inside a row filter (`df[df["year"] > 2000]["price"]`) selects rows, not label values.
        masks = {id(inner) for sub in nodes_in(expr, cst.Subscript) for element in sub.slice
                 for inner in nodes_in(element, cst.Subscript)}
        for sub in nodes_in(expr, cst.Subscript):
            if id(sub) in masks:
                continue
            if isinstance(sub.value, cst.Name) and len(sub.slice) == 1 and isinstance(sub.slice[0].slice, cst.Index):
                read = self.literal_columns(sub.slice[0].slice.value, before)
                b = self.r.lookup(sub.value.value, before)
                if read and b is not None:
                    cols |= read
                    frames.add(self.key(b))
        if len(frames) != 1 or not cols:
            return None
        return frozenset(cols), frames.pop(), expr

    def positions(self, expr: cst.BaseExpression, before: int = INFINITY) -> tuple[int, Positions] | None:
        """`df.iloc[:, k]`, `data[:, a:b]`, `df.values[:, [0, 2]]`: (the frame's binding id, the columns by
        position), for literal positions only."""
        expr, before = self.x.follow(expr, before)
        while isinstance(expr, cst.Call) and self.x.method(expr) in ("to_numpy", "ravel", "astype", "copy"):
            expr, before = self.x.follow(self.x.receiver(expr), before)
        while isinstance(expr, cst.Attribute) and expr.attr.value == "values":
            expr, before = self.x.follow(expr.value, before)
        if not isinstance(expr, cst.Subscript) or len(expr.slice) != 2 or not _full_slice(expr.slice[0].slice):
            return None
        base = expr.value
        if isinstance(base, cst.Attribute) and base.attr.value in ("iloc", "values"):
            base = base.value
        if not isinstance(base, cst.Name):
            return None
        b = self.r.lookup(base.value, before)
        spec = _positions(expr.slice[1].slice)
        return (self.key(b), spec) if b is not None and spec is not None else None

    def keeps_columns(self, x: cst.BaseExpression, frame: int, cols: frozenset[str], before: int = INFINITY,
                      depth: int = 0) -> bool:
        """Whether `x` is the frame whose binding id is `frame`, with every column of `cols` still in it
        (only through operations that keep all columns, row filters and selections that name them: no
        selection we cannot read, no drop of them)."""
        if depth > MAX_DEPTH:
            return False
        if isinstance(x, cst.Attribute) and x.attr.value in ("values",):
            return self.keeps_columns(x.value, frame, cols, before, depth + 1)
        if isinstance(x, cst.Name):
            b = self.r.lookup(x.value, before)
            if b is None:
                return False
            for seq, dropped in self._inplace_drops.get(x.value, []):
                now = before if before != INFINITY else self.r.seq + 1
                if b.seq < seq <= now and (dropped is None or dropped & cols):
                    return False
            if self.key(b) == frame:
                return True
            if b.aug_op == MUTATION:  # `df["c"] = ...` keeps the other columns: the frame before it
                return self.keeps_columns(x, frame, cols, b.seq, depth + 1)
            if b.value is None or b.unpack_index is not None or b.aug_op is not None:
                return False
            return self.keeps_columns(b.value, frame, cols, b.seq, depth + 1)
        if isinstance(x, cst.Subscript):
            return self._subscript_keeps(x, cols, before) and self.keeps_columns(
                x.value.value if isinstance(x.value, cst.Attribute) and x.value.attr.value in ("loc", "iloc")
                else x.value, frame, cols, before, depth + 1)
        if isinstance(x, cst.Call) and isinstance(x.func, cst.Attribute):
            method = x.func.attr.value
            if method == "drop":
                dropped = self.dropped_columns(x)
                if dropped is None or dropped & cols:
                    return False
                return self.keeps_columns(x.func.value, frame, cols, before, depth + 1)
            if method in ("copy", "fillna", "dropna", "reset_index", "to_numpy", "astype", "sample", "drop_duplicates"):
                return self.keeps_columns(x.func.value, frame, cols, before, depth + 1)
        return False

    def _subscript_keeps(self, x: cst.Subscript, cols: frozenset[str], before: int) -> bool:
        """`df[["a", "y"]]`, `df[df.a > 0]`, `df.iloc[:, :]`, `df.loc[mask, :]`, `df[:]` keep `cols`;
        `df.iloc[:, 1:]` (positions) or a list we cannot read may not."""
        located = isinstance(x.value, cst.Attribute) and x.value.attr.value in ("loc", "iloc")
        elements = [el.slice for el in x.slice]
        if located and len(elements) == 2:
            second = elements[1]
            if _full_slice(second):
                return True
            if x.value.attr.value == "loc" and isinstance(second, cst.Index):  # type: ignore[attr-defined]
                selected = self.literal_columns(second.value, before)
                return selected is not None and cols <= selected
            return False
        if len(elements) != 1:
            return False
        only = elements[0]
        if located or isinstance(only, cst.Slice):
            return True  # rows only
        assert isinstance(only, cst.Index)
        if _row_filter(x):
            return True
        selected = self.literal_columns(only.value, before)
        return selected is not None and cols <= selected


@dataclass(frozen=True)
class Positions:
    """Columns by position: listed (`k`, `[0, 2]`), or a range (`a:b`)."""

    members: frozenset[int] | None = None
    lower: int | None = None
    upper: int | None = None

    def covers(self, k: int) -> bool:
        """Whether these positions certainly include column `k`, without knowing the column count: positive
        and negative positions are compared only with their own kind."""
        if self.members is not None:
            return k in self.members
        lower, upper = self.lower, self.upper
        if (lower is None or lower == 0) and upper is None:
            return True
        if k >= 0:
            return (lower is None or 0 <= lower <= k) and (upper is None or upper > k)
        return (lower is None or lower <= k) and (upper is None or k < upper < 0) and (lower is None or lower < 0)

    @property
    def single(self) -> int | None:
        return next(iter(self.members)) if self.members is not None and len(self.members) == 1 else None


def _positions(index: cst.BaseSlice) -> Positions | None:
    if isinstance(index, cst.Index):
        k = _int(index.value)
        if k is not None:
            return Positions(frozenset({k}))
        if isinstance(index.value, (cst.List, cst.Tuple)) and index.value.elements:
            ks = [_int(el.value) for el in index.value.elements]
            return Positions(frozenset(k for k in ks if k is not None)) if None not in ks else None
        return None
    if isinstance(index, cst.Slice) and index.step is None:
        lower = _int(index.lower) if index.lower is not None else None
        upper = _int(index.upper) if index.upper is not None else None
        if (index.lower is not None and lower is None) or (index.upper is not None and upper is None):
            return None
        return Positions(None, lower, upper)
    return None


def _row_filter(sub: cst.Subscript) -> bool:
    """`df[df.a > 0]`, `df[(df.a > 0) & m]`, `df[~df.a.isna()]`: a boolean mask written in place."""
    if len(sub.slice) != 1 or not isinstance(sub.slice[0].slice, cst.Index):
        return False
    mask = sub.slice[0].slice.value
    return isinstance(mask, (cst.Comparison, cst.BooleanOperation, cst.UnaryOperation)) or (
        isinstance(mask, cst.BinaryOperation) and isinstance(mask.operator, (cst.BitAnd, cst.BitOr)))


def _full_slice(index: cst.BaseSlice) -> bool:
    return isinstance(index, cst.Slice) and index.lower is None and index.upper is None and index.step is None


def nodes_in(node: cst.CSTNode, kind: type[N]) -> list[N]:
    """The nodes of one kind in a subtree, in source order (`nodes_in(expr, cst.Name)`)."""
    return [child for child in descendants(node) if isinstance(child, kind)]


def _within(what: str, helper: str) -> str:
    """"a `StandardScaler` is fitted" learned in `prepare()`: "a `StandardScaler` (in `prepare()`) is fitted";
    through more helpers, the one where it is fitted and the outermost: "(in `scale()`, called through
    `prepare()`)"."""
    inner = _IN_HELPER.search(what)
    if inner is not None:
        return f"{what[:inner.start()]} (in `{inner.group(1)}()`, called through `{helper}()`){what[inner.end():]}"
    first = re.search(r"`[^`]*`", what)
    if first is None:
        return f"{what} (in `{helper}()`)"
    return f"{what[:first.end()]} (in `{helper}()`){what[first.end():]}"


def _int(expr: cst.BaseExpression | None) -> int | None:
    """The value of an integer literal (`0`, `-1`), else None."""
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus) and isinstance(
            expr.expression, cst.Integer):
        return -int(expr.expression.evaluated_value)
    return None


def _rows_axis(axis: cst.BaseExpression) -> bool:
    """`axis=0` / `axis="index"`: along the rows (an axis we cannot read is not)."""
    if isinstance(axis, cst.SimpleString):
        return axis.evaluated_value in ("index", "rows")
    return _int(axis) == 0


def _replace_false(call: cst.Call) -> bool:
    return any(a.keyword is not None and a.keyword.value == "replace" and dotted(a.value) == "False" for a in call.args)


def _short(node: cst.CSTNode, limit: int = 40) -> str:
    from mlstablint.code.exprs import source

    text = " ".join(source(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class FlowRecorder(cst.BatchableCSTVisitor):
    """Feeds a flow during a walk as the MSL3xx rules do, for a module read only for its functions (summaries.py)."""

    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.flow = flow

    def visit_Call(self, node: cst.Call) -> None:
        self.flow.on_visit_call(node)

    def leave_Call(self, original_node: cst.Call) -> None:
        self.flow.on_leave_call(original_node)

    def visit_For(self, node: cst.For) -> None:
        self.flow.on_visit_for(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.flow.on_leave_function(original_node)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self.flow.on_leave_assign(original_node)

    def visit_Del(self, node: cst.Del) -> None:
        self.flow.on_visit_del(node)


def flow_of(ctx: RuleContext) -> Flow:
    """The file's flow, built on first use by whichever MSL3xx rule asks first."""
    flow = ctx.analyses.get("leakage")
    if flow is None:
        project = ctx.helpers if isinstance(ctx.helpers, ProjectHelpers) else None
        flow = ctx.analyses["leakage"] = Flow(ctx.resolver, ctx.exprs, project)
    assert isinstance(flow, Flow)
    return flow
