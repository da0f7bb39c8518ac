"""Which library functions are which operation, across numpy, math, scipy, torch, tensorflow and jax.

Names are canonical qualified names as produced by `names.Resolver.qualname`. Only APIs
that exist are listed (e.g. `torch.logsumexp` requires `dim`, TensorFlow 1's `tf.log` is
kept for old code).
"""

from __future__ import annotations


def _expand(*groups: tuple[tuple[str, ...], tuple[str, ...]]) -> frozenset[str]:
    return frozenset(f"{module}.{name}" for modules, names in groups for module in modules for name in names)


NUMPY_LIKE = ("numpy", "jax.numpy", "cupy", "autograd.numpy")
TORCH = ("torch",)
TF_MATH = ("tensorflow", "tensorflow.math")

EXP = _expand((NUMPY_LIKE, ("exp",)), (("math", "cmath", "torch", "torch.special"), ("exp",)),
              (TF_MATH, ("exp",)))
LOG = _expand((NUMPY_LIKE, ("log",)), (("math", "cmath", "torch"), ("log",)), (TF_MATH, ("log",)))
LOG1P = _expand((NUMPY_LIKE, ("log1p",)), (("math", "torch", "torch.special"), ("log1p",)),
                (TF_MATH, ("log1p",)))
SQRT = _expand((NUMPY_LIKE, ("sqrt",)), (("math", "cmath", "torch"), ("sqrt",)), (TF_MATH, ("sqrt",)))
SQUARE = _expand((NUMPY_LIKE, ("square",)), (("torch",), ("square",)), (TF_MATH, ("square",)))
SUM = _expand((NUMPY_LIKE, ("sum", "nansum")), (("torch",), ("sum", "nansum")),
              (TF_MATH, ("reduce_sum",))) | {"builtins.sum", "math.fsum"}
MEAN = _expand((NUMPY_LIKE, ("mean", "nanmean", "average")), (("torch",), ("mean", "nanmean")),
               (TF_MATH, ("reduce_mean",))) | {"statistics.mean", "statistics.fmean"}
MAX = _expand((NUMPY_LIKE, ("max", "amax", "nanmax")), (("torch",), ("max", "amax")),
              (TF_MATH, ("reduce_max",))) | {"builtins.max"}
LOGSUMEXP = frozenset({
    "scipy.special.logsumexp", "scipy.misc.logsumexp", "torch.logsumexp", "torch.special.logsumexp",
    "tensorflow.reduce_logsumexp", "tensorflow.math.reduce_logsumexp", "jax.scipy.special.logsumexp",
    "jax.nn.logsumexp", "numpy.logaddexp", "numpy.logaddexp2",
})
SOFTMAX = frozenset({
    "scipy.special.softmax", "torch.softmax", "torch.special.softmax", "torch.nn.functional.softmax",
    "tensorflow.nn.softmax", "tensorflow.math.softmax", "jax.nn.softmax", "keras.activations.softmax",
    "tensorflow.keras.activations.softmax",
})
SIGMOID = frozenset({
    "scipy.special.expit", "torch.sigmoid", "torch.special.expit", "torch.nn.functional.sigmoid",
    "tensorflow.sigmoid", "tensorflow.math.sigmoid", "tensorflow.nn.sigmoid", "jax.nn.sigmoid",
    "jax.scipy.special.expit", "keras.activations.sigmoid", "tensorflow.keras.activations.sigmoid",
})
LOG2 = _expand((NUMPY_LIKE, ("log2",)), (("math", "torch"), ("log2",)))
LOG10 = _expand((NUMPY_LIKE, ("log10",)), (("math", "cmath", "torch"), ("log10",)))
LOG_SOFTMAX = frozenset({
    "scipy.special.log_softmax", "torch.log_softmax", "torch.special.log_softmax",
    "torch.nn.functional.log_softmax", "tensorflow.nn.log_softmax", "tensorflow.math.log_softmax",
    "jax.nn.log_softmax",
})
LOG_SIGMOID = frozenset({
    "scipy.special.log_expit", "torch.nn.functional.logsigmoid", "tensorflow.math.log_sigmoid",
    "jax.nn.log_sigmoid",
})
TANH = _expand((NUMPY_LIKE, ("tanh",)), (("math", "torch"), ("tanh",)), (TF_MATH, ("tanh",)),
               (("jax.nn",), ("tanh",))) | {"torch.nn.functional.tanh"}
SIN_COS = _expand(((*NUMPY_LIKE, "math", "torch"), ("sin", "cos")), (TF_MATH, ("sin", "cos")))
POWER = _expand((NUMPY_LIKE, ("power", "float_power")), (("torch",), ("pow",)), (TF_MATH, ("pow",))) | {
    "math.pow", "builtins.pow"}
NORM = _expand((NUMPY_LIKE, ("hypot",)), (("numpy.linalg", "jax.numpy.linalg", "scipy.linalg", "torch.linalg"),
                                          ("norm",)), (("torch",), ("norm", "hypot")))
# Operators spelled as functions: the value analysis reads them as the operator.
DIVIDE = _expand((NUMPY_LIKE, ("divide", "true_divide")), (("torch",), ("div", "divide", "true_divide")),
                 (TF_MATH, ("divide", "truediv", "div")))
ADD = _expand((NUMPY_LIKE, ("add",)), (("torch",), ("add",)), (TF_MATH, ("add",)))
SUBTRACT = _expand((NUMPY_LIKE, ("subtract",)), (("torch",), ("sub", "subtract")), (TF_MATH, ("subtract",)))
MULTIPLY = _expand((NUMPY_LIKE, ("multiply",)), (("torch",), ("mul", "multiply")), (TF_MATH, ("multiply",)))
NEGATIVE = _expand((NUMPY_LIKE, ("negative",)), (("torch",), ("neg", "negative")), (TF_MATH, ("negative",)))
# Results that are integer-valued (counts, sizes, indices).
INTEGER_FUNCS = _expand((NUMPY_LIKE, ("arange", "floor", "ceil", "round", "rint", "count_nonzero", "bincount",
                                      "argmax", "argmin", "trunc", "size")),
                        (("torch",), ("arange", "floor", "ceil", "round", "count_nonzero", "bincount", "argmax",
                                      "argmin", "numel")), (("math",), ("floor", "ceil", "factorial", "comb", "perm")),
                        ) | {"builtins.len", "builtins.range", "builtins.int", "builtins.round"}
SVD_EIG = _expand((("numpy.linalg", "scipy.linalg", "jax.numpy.linalg", "torch.linalg", "cupy.linalg"),
                   ("svd", "eigh"))) | {"tensorflow.linalg.svd",
                                                                             "tensorflow.linalg.eigh", "torch.svd"}
# Layers whose output is a probability / a linear predictor (the value analysis reads models built of them).
SIGMOID_LAYERS = frozenset({"torch.nn.Sigmoid"})
SOFTMAX_LAYERS = frozenset({"torch.nn.Softmax", "keras.layers.Softmax"})
LINEAR_LAYERS = frozenset({"torch.nn.Linear", "torch.nn.Bilinear", "torch.nn.LazyLinear", "keras.layers.Dense"})
INV = frozenset({
    "numpy.linalg.inv", "scipy.linalg.inv", "torch.inverse", "torch.linalg.inv", "tensorflow.linalg.inv",
    "jax.numpy.linalg.inv", "jax.scipy.linalg.inv", "cupy.linalg.inv",
})
PINV = frozenset({
    "numpy.linalg.pinv", "scipy.linalg.pinv", "scipy.linalg.pinvh", "torch.pinverse", "torch.linalg.pinv",
    "tensorflow.linalg.pinv", "jax.numpy.linalg.pinv", "cupy.linalg.pinv",
})
SOLVE = frozenset({
    "numpy.linalg.solve", "scipy.linalg.solve", "torch.linalg.solve", "tensorflow.linalg.solve",
    "jax.numpy.linalg.solve", "jax.scipy.linalg.solve", "cupy.linalg.solve",
})
CHOLESKY = frozenset({
    "numpy.linalg.cholesky", "scipy.linalg.cholesky", "scipy.linalg.cho_factor", "torch.linalg.cholesky",
    "tensorflow.linalg.cholesky", "jax.numpy.linalg.cholesky",
})
LSTSQ = frozenset({
    "numpy.linalg.lstsq", "scipy.linalg.lstsq", "torch.linalg.lstsq", "tensorflow.linalg.lstsq",
    "jax.numpy.linalg.lstsq", "cupy.linalg.lstsq",
})
DET = frozenset({
    "numpy.linalg.det", "scipy.linalg.det", "torch.det", "torch.linalg.det", "tensorflow.linalg.det",
    "jax.numpy.linalg.det", "cupy.linalg.det",
})
MATMUL = _expand((NUMPY_LIKE, ("dot", "matmul")), (("torch",), ("matmul", "mm", "bmm")),
                 (("tensorflow", "tensorflow.linalg"), ("matmul",))) | {"sklearn.utils.extmath.safe_sparse_dot"}
TRANSPOSE = _expand((NUMPY_LIKE, ("transpose",)), (("torch",), ("t", "transpose")),
                    (("tensorflow", "tensorflow.linalg"), ("transpose",)))
ABS = _expand((NUMPY_LIKE, ("abs", "absolute", "fabs")), (("torch",), ("abs",)), (TF_MATH, ("abs",))) | {
    "builtins.abs", "math.fabs"}
# Calls that bound or shift their argument: an exp/log of their result is guarded.
GUARDS = _expand(
    (NUMPY_LIKE, ("clip", "minimum", "maximum", "fmin", "fmax", "where", "nan_to_num", "clamp")),
    (("torch",), ("clamp", "clip", "minimum", "maximum", "where", "nan_to_num", "clamp_min", "clamp_max")),
    (TF_MATH, ("minimum", "maximum", "clip_by_value")),
    (("tensorflow",), ("where", "clip_by_value")),
) | {"builtins.min", "builtins.max", "numpy.ma.masked_invalid"}
GUARD_METHODS = frozenset({"clip", "clamp", "clamp_min", "clamp_max", "clip_lower", "clip_upper"})
NAN = frozenset({
    "numpy.nan", "numpy.NaN", "numpy.NAN", "math.nan", "cmath.nan", "torch.nan", "jax.numpy.nan",
    "cupy.nan",
})
FLOAT_CONSTRUCTORS = frozenset({
    "builtins.float", "numpy.float64", "numpy.float32", "numpy.float16", "numpy.double", "numpy.single",
    "numpy.longdouble", "numpy.float_",
})
CONSTANTS = _expand(((*NUMPY_LIKE, "math", "torch"), ("pi", "e", "inf", "euler_gamma", "tau")))

# Loading raw data: anything these return is unscaled.
READERS = _expand(
    (("pandas", "polars", "modin.pandas", "dask.dataframe", "cudf"),
     ("read_csv", "read_parquet", "read_excel", "read_json", "read_feather", "read_table", "read_sql",
      "read_sql_query", "read_sql_table", "read_hdf", "read_orc", "read_fwf", "read_stata", "read_sas",
      "read_spss", "read_ipc", "read_delta")),
    (("numpy",), ("loadtxt", "genfromtxt", "fromfile", "load")),
    (("pyarrow.parquet",), ("read_table",)),
    (("pyarrow.csv",), ("read_csv",)),
    (("pyarrow.feather",), ("read_table", "read_feather")),
) | {f"sklearn.datasets.{name}" for name in (
    # Only the bundled tables whose column scales differ by more than 10x (std ratio: wine 2.5e3,
    # breast cancer 2.2e5, linnerud 12); iris (4) and digits (one pixel scale) are left out.
    "load_wine", "load_breast_cancer", "load_linnerud",
    "fetch_california_housing", "fetch_covtype", "fetch_kddcup99", "fetch_openml",
    "load_svmlight_file",
)}
# Methods and attributes that keep data raw (a view, a conversion, a selection).
RAW_PASSTHROUGH_METHODS = frozenset({
    "to_numpy", "astype", "copy", "fillna", "dropna", "drop", "reset_index", "select_dtypes",
    "sample", "head", "tail", "filter", "drop_duplicates", "reindex", "ffill", "bfill", "replace",
    "to_pandas", "to_frame", "toarray", "todense", "as_matrix", "get", "assign", "merge", "join",
    "sort_values", "sort_index", "set_index", "query", "where", "mask", "rename", "reshape", "squeeze",
    "transpose", "values", "ravel", "flatten",
})
RAW_ATTRIBUTES = frozenset({"values", "data", "T", "loc", "iloc", "array", "X"})
# Functions that stack or convert their (first) argument and keep it raw.
RAW_PASSTHROUGH_FUNCS = _expand(
    (("numpy",), ("asarray", "array", "asfarray", "ascontiguousarray", "asanyarray", "column_stack",
                  "hstack", "vstack", "concatenate", "c_", "r_", "atleast_2d", "stack", "nan_to_num")),
    (("pandas",), ("get_dummies", "concat", "DataFrame", "to_numeric")),
    (("torch",), ("tensor", "as_tensor", "from_numpy")),
    (("sklearn.model_selection",), ("train_test_split",)),
    (("sklearn.utils",), ("shuffle", "resample", "check_array")),
)
# Functions that standardise their argument.
SCALING_FUNCS = frozenset({
    f"sklearn.preprocessing.{name}" for name in (
        "scale", "minmax_scale", "maxabs_scale", "robust_scale", "normalize", "quantile_transform",
        "power_transform")
} | {"scipy.stats.zscore", "scipy.stats.mstats.zscore"})
SCALERS = frozenset({
    f"sklearn.preprocessing.{name}" for name in (
        "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer",
        "QuantileTransformer", "PowerTransformer")
})
# Steps that neither scale nor are unknown (an unknown step may well be a scaler).
NON_SCALING_STEPS = frozenset({
    "sklearn.impute.SimpleImputer", "sklearn.impute.KNNImputer", "sklearn.impute.MissingIndicator",
    "sklearn.feature_selection.VarianceThreshold", "sklearn.feature_selection.SelectKBest",
    "sklearn.feature_selection.SelectPercentile", "sklearn.preprocessing.PolynomialFeatures",
    "sklearn.preprocessing.OneHotEncoder", "sklearn.preprocessing.OrdinalEncoder",
})
SCALE_SENSITIVE = frozenset(
    {f"sklearn.svm.{n}" for n in ("SVC", "SVR", "LinearSVC", "LinearSVR", "NuSVC", "NuSVR", "OneClassSVM")}
    | {f"sklearn.neighbors.{n}" for n in (
        "KNeighborsClassifier", "KNeighborsRegressor", "RadiusNeighborsClassifier", "RadiusNeighborsRegressor",
        "NearestNeighbors", "LocalOutlierFactor")}
    | {f"sklearn.linear_model.{n}" for n in (
        "LogisticRegression", "LogisticRegressionCV", "SGDClassifier", "SGDRegressor", "SGDOneClassSVM",
        "Ridge", "RidgeCV", "RidgeClassifier", "RidgeClassifierCV", "Lasso", "LassoCV", "ElasticNet",
        "ElasticNetCV", "Perceptron", "PassiveAggressiveClassifier", "PassiveAggressiveRegressor",
        "HuberRegressor")}
    | {f"sklearn.neural_network.{n}" for n in ("MLPClassifier", "MLPRegressor")}
    | {f"sklearn.decomposition.{n}" for n in ("PCA", "KernelPCA", "IncrementalPCA")}
    | {f"sklearn.cluster.{n}" for n in ("KMeans", "MiniBatchKMeans")}
    | {f"sklearn.kernel_ridge.{n}" for n in ("KernelRidge",)}
)
PIPELINES = frozenset({"sklearn.pipeline.make_pipeline", "sklearn.pipeline.Pipeline"})
SEARCH_WRAPPERS = frozenset({
    f"sklearn.model_selection.{n}" for n in (
        "GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV")
} | {"sklearn.multiclass.OneVsRestClassifier", "sklearn.multiclass.OneVsOneClassifier",
     "sklearn.ensemble.BaggingClassifier", "sklearn.ensemble.BaggingRegressor"})
CV_FUNCTIONS = frozenset({
    f"sklearn.model_selection.{n}" for n in (
        "cross_val_score", "cross_validate", "cross_val_predict", "learning_curve", "validation_curve",
        "permutation_test_score")
})
FIT_METHODS = frozenset({"fit", "fit_transform", "fit_predict", "partial_fit"})
PREDICTION_METHODS = frozenset({"predict", "decision_function", "predict_log_proba", "forward"})
PROBABILITY_METHODS = frozenset({"predict_proba"})

# Top-level modules a file must import for the library-bound rules to have anything to find.
LIBRARY_ROOTS = frozenset({
    "numpy", "math", "cmath", "scipy", "torch", "tensorflow", "jax", "cupy", "autograd", "sklearn",
    "pandas", "polars", "statistics", "keras",
})
