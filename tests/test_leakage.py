"""MSL3xx (data leakage in code): every rule and every flow the issue names, positive and negative, as a
`.py` file and as a notebook whose cells hold the same lines (one statement group per cell)."""

from __future__ import annotations

import json

import pytest

from mlstablint.code.engine import check_bytes
from tests.leakage_support import cells, notebook, rules_of, src

POSITIVE: list[tuple[str, str, str]] = [
    # (rule, flow, body)
    ("MSL301", "assignment then train_test_split", """
        df = pd.read_csv("t.csv")
        X = df.drop(columns="y")
        y = df["y"]
        X = StandardScaler().fit_transform(X)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL301", "fit, split, transform the parts", """
        df = pd.read_csv("t.csv")
        sc = StandardScaler()
        sc.fit(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(df[["a", "b"]], df["y"])
        X_te = sc.transform(X_te)
     """),
    ("MSL301", "selector then KFold.split loop", """
        from sklearn.feature_selection import SelectKBest
        X = np.random.rand(100, 500)
        y = np.random.randint(0, 2, 100)
        X_sel = SelectKBest(k=10).fit_transform(X, y)
        for tr, te in KFold(5).split(X_sel):
            LogisticRegression().fit(X_sel[tr], y[tr])
     """),
    ("MSL301", "cross_val_score on a transformed X", """
        from sklearn.decomposition import PCA
        X, y = load()
        Z = PCA(10).fit_transform(X)
        print(cross_val_score(LogisticRegression(), Z, y))
     """),
    ("MSL301", "pandas fillna(mean), .values, then split", """
        df = pd.read_csv("t.csv")
        df = df.fillna(df.mean())
        X = df[["a", "b"]].values
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"].values)
     """),
    ("MSL301", "pandas fillna(mean, inplace=True)", """
        df = pd.read_csv("t.csv")
        df.fillna(df.mean(numeric_only=True), inplace=True)
        X_tr, X_te, y_tr, y_te = train_test_split(df.drop(columns="y"), df["y"])
     """),
    ("MSL301", "pandas standardisation", """
        df = pd.read_csv("t.csv")
        feats = (df - df.mean()) / df.std()
        train, test = train_test_split(feats, test_size=0.2)
     """),
    ("MSL301", "concat of the scaled part", """
        df = pd.read_csv("t.csv")
        num = pd.DataFrame(StandardScaler().fit_transform(df[["a", "b"]]))
        X = pd.concat([num, pd.get_dummies(df["c"])], axis=1)
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    ("MSL301", "a vectorizer on all documents", """
        from sklearn.feature_extraction.text import TfidfVectorizer
        docs, labels = load()
        vec = TfidfVectorizer()
        X = vec.fit_transform(docs)
        X_tr, X_te, y_tr, y_te = train_test_split(X, labels)
     """),
    ("MSL301", "a helper of the file that fits", """
        def prepare(frame):
            scaler = StandardScaler()
            return scaler.fit_transform(frame)
        df = pd.read_csv("t.csv")
        X = prepare(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    ("MSL301", "a helper of the file that splits", """
        def split_data(X, y):
            X_a, X_b, y_a, y_b = train_test_split(X, y, test_size=0.25)
            return X_a, X_b, y_a, y_b
        X, y = load()
        X = StandardScaler().fit_transform(X)
        X_tr, X_te, y_tr, y_te = split_data(X, y)
     """),
    ("MSL301", "scale() function then enumerate(KFold.split)", """
        from sklearn.preprocessing import scale
        X, y = load()
        X = scale(X)
        kf = KFold(n_splits=5, shuffle=True)
        for i, (tr, te) in enumerate(kf.split(X)):
            LogisticRegression().fit(X[tr], y[tr])
     """),
    ("MSL301", "a selector fitted on the training part, then a search over that part", """
        from sklearn.feature_selection import SelectKBest
        from sklearn.model_selection import GridSearchCV
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_tr_sel = SelectKBest(k=5).fit_transform(X_tr, y_tr)
        GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}).fit(X_tr_sel, y_tr)
     """),
    ("MSL301", "a ColumnTransformer holding a scaler", """
        from sklearn.compose import ColumnTransformer
        from sklearn.preprocessing import OneHotEncoder
        df = pd.read_csv("t.csv")
        num = StandardScaler()
        ct = ColumnTransformer([("num", num, ["a"]), ("cat", OneHotEncoder(), ["c"])])
        X = ct.fit_transform(df)
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    ("MSL302", "SMOTE then cross_val_score", """
        from imblearn.over_sampling import SMOTE
        X, y = load()
        X_res, y_res = SMOTE().fit_resample(X, y)
        scores = cross_val_score(LogisticRegression(), X_res, y_res, cv=5)
     """),
    ("MSL302", "RandomOverSampler then train_test_split", """
        from imblearn.over_sampling import RandomOverSampler
        df = pd.read_csv("t.csv")
        ros = RandomOverSampler(random_state=0)
        X_res, y_res = ros.fit_resample(df[["a", "b"]], df["y"])
        X_tr, X_te, y_tr, y_te = train_test_split(X_res, y_res)
     """),
    ("MSL302", "resample(replace=True) and concat before the split", """
        from sklearn.utils import resample
        df = pd.read_csv("t.csv")
        minority = df[df.y == 1]
        majority = df[df.y == 0]
        up = resample(minority, replace=True, n_samples=len(majority))
        balanced = pd.concat([majority, up])
        train, test = train_test_split(balanced)
     """),
    ("MSL303", "fit_transform on the test part", """
        df = pd.read_csv("t.csv")
        X_tr, X_te, y_tr, y_te = train_test_split(df[["a"]], df["y"])
        sc = StandardScaler()
        X_tr = sc.fit_transform(X_tr)
        X_te = sc.fit_transform(X_te)
     """),
    ("MSL303", "fit on the test fold of a KFold loop", """
        X, y = load()
        for tr, te in KFold(5).split(X):
            sc = StandardScaler().fit(X[te])
     """),
    ("MSL303", "a vectorizer refitted on test documents (files, no split)", """
        from sklearn.feature_extraction.text import CountVectorizer
        train_docs = open("train.txt").read().split("\\n")
        test_docs = open("test.txt").read().split("\\n")
        vectorizer = CountVectorizer()
        A = vectorizer.fit_transform(train_docs)
        B = vectorizer.fit_transform(test_docs)
     """),
    ("MSL304", "early stopping on the test split", """
        from tensorflow.keras.callbacks import EarlyStopping
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        es = EarlyStopping(patience=3, restore_best_weights=True)
        model.fit(X_tr, y_tr, validation_data=(X_te, y_te), callbacks=[es])
     """),
    ("MSL304", "xgboost eval_set on test with early_stopping_rounds", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        booster.fit(X_tr, y_tr, eval_set=[(X_te, y_te)], early_stopping_rounds=20)
     """),
    ("MSL304", "best k kept by comparing test scores in a loop", """
        from sklearn.neighbors import KNeighborsClassifier
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        best, best_k = 0, None
        for k in range(1, 30):
            knn = KNeighborsClassifier(n_neighbors=k).fit(X_tr, y_tr)
            acc = knn.score(X_te, y_te)
            if acc > best:
                best, best_k = acc, k
     """),
    ("MSL304", "test scores collected, argmax taken", """
        from sklearn.metrics import accuracy_score
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        scores = []
        for c in [0.01, 0.1, 1, 10]:
            m = LogisticRegression(C=c).fit(X_tr, y_tr)
            scores.append(accuracy_score(y_te, m.predict(X_te)))
        best_c = [0.01, 0.1, 1, 10][np.argmax(scores)]
     """),
    ("MSL305", "a group mean of the target as a feature", """
        df = pd.read_csv("t.csv")
        df["city_price"] = df.groupby("city")["price"].transform("mean")
        X = df.drop(columns=["price"])
        y = df["price"]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL305", "the target column left in X", """
        df = pd.read_csv("t.csv")
        X = df.drop(columns=["id"])
        y = df["price"]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL305", "the target left in X, through .values and cross_val_score", """
        TARGET = "price"
        df = pd.read_csv("t.csv")
        X = df.values
        y = df[TARGET].values
        cross_val_score(LogisticRegression(), X, y)
     """),
    ("MSL305", "TargetEncoder fitted before the split", """
        from sklearn.preprocessing import TargetEncoder
        df = pd.read_csv("t.csv")
        enc = TargetEncoder()
        codes = enc.fit_transform(df[["city"]], df["price"])
        X_tr, X_te, y_tr, y_te = train_test_split(codes, df["price"])
     """),
]

NEGATIVE: list[tuple[str, str]] = [
    ("split first, fit on train, transform test", """
        df = pd.read_csv("t.csv")
        X_tr, X_te, y_tr, y_te = train_test_split(df.drop(columns="y"), df["y"])
        sc = StandardScaler()
        X_tr = sc.fit_transform(X_tr)
        X_te = sc.transform(X_te)
     """),
    ("a Pipeline inside cross_val_score", """
        from sklearn.pipeline import make_pipeline
        X, y = load()
        print(cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y))
     """),
    ("preprocessing with no split in sight", """
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        model = LogisticRegression().fit(X, df["y"])
     """),
    ("PCA for a plot, the split on the raw features", """
        from sklearn.decomposition import PCA
        X, y = load()
        coords = PCA(2).fit_transform(X)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("get_dummies is stateless", """
        df = pd.read_csv("t.csv")
        X = pd.get_dummies(df.drop(columns="y"))
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    ("fit inside the KFold loop on the training fold", """
        X, y = load()
        for tr, te in KFold(5).split(X):
            sc = StandardScaler().fit(X[tr])
            model = LogisticRegression().fit(sc.transform(X[tr]), y[tr])
            model.score(sc.transform(X[te]), y[te])
     """),
    ("SMOTE on the training part only", """
        from imblearn.over_sampling import SMOTE
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_tr, y_tr = SMOTE().fit_resample(X_tr, y_tr)
     """),
    ("imblearn Pipeline inside CV", """
        from imblearn.over_sampling import SMOTE
        from imblearn.pipeline import make_pipeline
        X, y = load()
        cross_val_score(make_pipeline(SMOTE(), LogisticRegression()), X, y)
     """),
    ("a ColumnTransformer with a one-hot encoder and passthrough only", """
        from sklearn.compose import ColumnTransformer
        from sklearn.preprocessing import OneHotEncoder
        df = pd.read_csv("t.csv")
        ct = ColumnTransformer([("enc", OneHotEncoder(), [3])], remainder="passthrough")
        X = np.array(ct.fit_transform(df.drop(columns="y")))
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    ("a scaler fitted on the training part, then a search over that part", """
        from sklearn.model_selection import GridSearchCV
        from sklearn.ensemble import RandomForestClassifier
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        sc = StandardScaler()
        X_tr = sc.fit_transform(X_tr)
        X_te = sc.transform(X_te)
        GridSearchCV(RandomForestClassifier(), {"max_depth": [3, None]}).fit(X_tr, y_tr)
     """),
    ("LabelEncoder on the target before the split", """
        from sklearn.preprocessing import LabelEncoder
        df = pd.read_csv("t.csv")
        y = LabelEncoder().fit_transform(df["y"])
        X_tr, X_te, y_tr, y_te = train_test_split(df[["a"]], y)
     """),
    ("a LabelEncoder on the test labels for a metric", """
        from sklearn.metrics import roc_auc_score
        from sklearn.preprocessing import LabelEncoder
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        proba = model.fit(X_tr, y_tr).predict_proba(X_te)
        roc = roc_auc_score(LabelEncoder().fit_transform(y_te), proba, multi_class="ovr")
     """),
    ("the target popped out of the frame", """
        df = pd.read_csv("t.csv")
        y = df.pop("price")
        X_tr, X_te, y_tr, y_te = train_test_split(df, y)
     """),
    ("the target dropped through a named constant", """
        TARGET = "price"
        df = pd.read_csv("t.csv")
        X = df.drop(TARGET, axis=1)
        X_tr, X_te, y_tr, y_te = train_test_split(X, df[TARGET])
     """),
    ("an explicit feature list", """
        df = pd.read_csv("t.csv")
        X = df[["a", "b"]]
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["price"])
     """),
    ("a group statistic of a feature, not the target", """
        df = pd.read_csv("t.csv")
        df["city_size"] = df.groupby("city")["sqft"].transform("mean")
        X_tr, X_te, y_tr, y_te = train_test_split(df[["city_size", "sqft"]], df["price"])
     """),
    ("validation data from a second split of the training part", """
        from tensorflow.keras.callbacks import EarlyStopping
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_fit, X_val, y_fit, y_val = train_test_split(X_tr, y_tr)
        model.fit(X_fit, y_fit, validation_data=(X_val, y_val), callbacks=[EarlyStopping()])
        model.evaluate(X_te, y_te)
     """),
    ("validation_data on test without early stopping (monitoring only)", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        model.fit(X_tr, y_tr, validation_data=(X_te, y_te), epochs=10)
     """),
    ("test scores in a loop, plotted, not selected", """
        import matplotlib.pyplot as plt
        from sklearn.neighbors import KNeighborsClassifier
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        scores = []
        for k in range(1, 30):
            knn = KNeighborsClassifier(n_neighbors=k).fit(X_tr, y_tr)
            scores.append(knn.score(X_te, y_te))
        plt.plot(scores)
     """),
    ("models compared by cross-validation on the training part", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        best, best_c = 0, None
        for c in [0.1, 1, 10]:
            s = cross_val_score(LogisticRegression(C=c), X_tr, y_tr).mean()
            if s > best:
                best, best_c = s, c
        final = LogisticRegression(C=best_c).fit(X_tr, y_tr)
        final.score(X_te, y_te)
     """),
    ("a frozen model calibrated on the held-out part of a split", """
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.frozen import FrozenEstimator
        X, y = load()
        X_fit, X_calib, y_fit, y_calib = train_test_split(X, y)
        clf = LogisticRegression().fit(X_fit, y_fit)
        calibrated = CalibratedClassifierCV(FrozenEstimator(clf)).fit(X_calib, y_calib)
     """),
    ("partial_fit on the second batch of a split", """
        from sklearn.naive_bayes import GaussianNB
        X, y = load()
        first, second, y_first, y_second = train_test_split(X, y, test_size=0.4)
        nb = GaussianNB()
        nb.partial_fit(first, y_first, classes=[0, 1])
        nb.partial_fit(second, y_second)
     """),
    ("fresh data in a later function after a KFold loop in an earlier one", """
        from sklearn.datasets import make_classification
        def cv_check(X, y):
            for train, test in KFold(3).split(X, y):
                m = LogisticRegression().fit(X[train], y[train])
                m.score(X[test], y[test])
        def solvers_agree(seed):
            X, y = make_classification(n_samples=200, random_state=seed)
            return {s: LogisticRegression(solver=s).fit(X, y) for s in ("lbfgs", "newton-cg")}
        def binned(seed):
            y = np.random.default_rng(seed).normal(size=100)
            return StandardScaler().fit_transform(y.reshape(-1, 1))
     """),
    ("test-named data without a training counterpart fitted by the same object", """
        X_test = pd.read_csv("holdout.csv")
        sc = StandardScaler()
        Z = sc.fit_transform(X_test)
     """),
]


@pytest.mark.parametrize(("rule", "flow", "body"), POSITIVE, ids=[f"{r}-{f}" for r, f, _ in POSITIVE])
@pytest.mark.parametrize("form", ["py", "ipynb"])
def test_fires(checker, rule: str, flow: str, body: str, form: str) -> None:
    data = src(body).encode() if form == "py" else notebook(cells(body))
    fired = rules_of(checker, data, f"leak.{form}")
    assert rule in fired, (flow, fired)
    assert not [r for r in fired if r.startswith("MSL3") and r != rule], (flow, fired)


@pytest.mark.parametrize(("flow", "body"), NEGATIVE, ids=[f for f, _ in NEGATIVE])
@pytest.mark.parametrize("form", ["py", "ipynb"])
def test_correct_idioms_are_clean(checker, flow: str, body: str, form: str) -> None:
    data = src(body).encode() if form == "py" else notebook(cells(body))
    fired = [r for r in rules_of(checker, data, f"ok.{form}") if r.startswith("MSL3")]
    assert fired == [], flow


def test_finding_is_on_the_fit_and_names_the_split(checker) -> None:
    code = src("""
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
    """)
    report = checker.check_source(code, "p.py")
    [finding] = [f for f in report.findings if f.rule == "MSL301"]
    line = code.splitlines()[finding.line - 1]
    assert "fit_transform" in line[finding.column - 1:]
    assert finding.evidence["split"] == "train_test_split"
    assert finding.evidence["split_call"] == 'train_test_split(X, df["y"])'


def test_notebook_finding_is_in_the_fit_cell(checker) -> None:
    code = src("""
        df = pd.read_csv("t.csv")

        X = StandardScaler().fit_transform(df[["a", "b"]])

        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
    """)
    report = check_bytes(checker, notebook(code), "nb.ipynb")
    [finding] = [f for f in report.findings if f.rule == "MSL301"]
    assert finding.cell == 3 and finding.cell_line == 1  # markdown, imports with the read, fit, split


def test_notebook_run_out_of_order_gets_a_note(checker) -> None:
    code = src("""
        df = pd.read_csv("t.csv")

        X = StandardScaler().fit_transform(df[["a", "b"]])

        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
    """)
    doc = json.loads(notebook(code))
    doc["cells"][2]["execution_count"], doc["cells"][3]["execution_count"] = 9, 4  # the split cell ran first
    report = check_bytes(checker, json.dumps(doc).encode(), "nb.ipynb")
    [finding] = [f for f in report.findings if f.rule == "MSL301"]
    assert finding.evidence["execution_order"] == {"cell": 3, "cell_count": 9, "related_cell": 4,
                                                   "related_count": 4}
    assert "other order" in finding.message
    in_order = check_bytes(checker, notebook(code), "nb.ipynb")
    [plain] = [f for f in in_order.findings if f.rule == "MSL301"]
    assert "execution_order" not in plain.evidence and "other order" not in plain.message


@pytest.mark.parametrize(("path", "skipped"), [
    ("tests/test_model.py", True), ("pkg/tests/helpers.py", True), ("test_pipeline.py", True),
    ("model_test.py", True), ("conftest.py", True), ("src/train.py", False), ("notebooks/latest.ipynb", False),
    ("contest/eval.py", False),
])
def test_unit_tests_are_left_alone(checker, path: str, skipped: bool) -> None:
    code = src("""
        X, y = load()
        X = StandardScaler().fit_transform(X)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
    """)
    data = code.encode() if path.endswith(".py") else notebook(code)
    fired = [r for r in rules_of(checker, data, path) if r.startswith("MSL3")]
    assert fired == ([] if skipped else ["MSL301"])
