"""MSL3xx flows beyond the first set: helpers of the file that fit or split (their returns followed through a
summary per function), augmentation and row duplication before the split, the test set used to choose the
model, and the target reaching the features by a name, by position or through a derived column. Each case
runs as a `.py` file and as a notebook whose cells hold the same lines."""

from __future__ import annotations

import json

import pytest

from mlstablint.code.engine import check_bytes
from tests.leakage_support import as_form, leak_rules, notebook, rules_of, src

POSITIVE: list[tuple[str, str, str]] = [
    # (rule, flow, body)
    # ---- helpers of the file -----------------------------------------------------------------
    ("MSL301", "a helper with no parameter reads, scales and returns", """
        def load_scaled():
            df = pd.read_csv("t.csv")
            X = StandardScaler().fit_transform(df[["a", "b"]])
            return X, df["y"]
        X, y = load_scaled()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL301", "a helper's result bound to a local, then returned", """
        def prepare(frame):
            sc = StandardScaler()
            out = sc.fit_transform(frame)
            return out
        df = pd.read_csv("t.csv")
        X = prepare(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    ("MSL301", "a helper calling a helper, arguments by keyword", """
        def scale(a):
            return StandardScaler().fit_transform(a)
        def prepare(frame, cols=("a", "b")):
            return scale(frame[list(cols)])
        df = pd.read_csv("t.csv")
        X = prepare(cols=["a"], frame=df)
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    ("MSL303", "a helper that fits, called on the test part", """
        def prepare(frame):
            return StandardScaler().fit_transform(frame)
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_tr = prepare(X_tr)
        X_te = prepare(X_te)
     """),
    # ---- augmentation and duplication before the split ---------------------------------------
    ("MSL302", "noisy copies stacked under the rows, then split", """
        X, y = load()
        X_aug = np.concatenate([X, X + np.random.normal(0, 0.1, X.shape)])
        y_aug = np.concatenate([y, y])
        X_tr, X_te, y_tr, y_te = train_test_split(X_aug, y_aug)
     """),
    ("MSL302", "minority rows appended again with pd.concat", """
        df = pd.read_csv("t.csv")
        df = pd.concat([df, df[df.y == 1]], ignore_index=True)
        X_tr, X_te, y_tr, y_te = train_test_split(df.drop(columns="y"), df["y"])
     """),
    ("MSL302", "flipped images stacked with np.vstack, a helper that augments", """
        def flipped(images):
            return np.flip(images, axis=2)
        X, y = load()
        X_all = np.vstack([X, flipped(X)])
        y_all = np.concatenate([y, y])
        X_tr, X_te, y_tr, y_te = train_test_split(X_all, y_all)
     """),
    ("MSL302", "an augment() helper of the file, then cross_val_score", """
        def augment(X):
            return np.concatenate([X, np.fliplr(X)])
        X, y = load()
        print(cross_val_score(LogisticRegression(), augment(X), np.concatenate([y, y])))
     """),
    ("MSL302", "a copy of the frame with changed values, concatenated", """
        df = pd.read_csv("t.csv")
        noisy = df.copy()
        noisy["a"] = noisy["a"] * 1.01
        both = pd.concat([df, noisy])
        train, test = train_test_split(both, test_size=0.2)
     """),
    ("MSL302", "rows repeated with np.repeat(axis=0), then KFold", """
        X, y = load()
        Xr = np.repeat(X, 3, axis=0)
        yr = np.repeat(y, 3, axis=0)
        for tr, te in KFold(5, shuffle=True).split(Xr):
            LogisticRegression().fit(Xr[tr], yr[tr])
     """),
    ("MSL302", "the training part augmented, then cross-validated", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_tr = np.concatenate([X_tr, X_tr + 0.01])
        y_tr = np.concatenate([y_tr, y_tr])
        print(cross_val_score(LogisticRegression(), X_tr, y_tr))
     """),
    # ---- the test set used to choose the model -----------------------------------------------
    ("MSL304", "models in a dict, test scores stored by name, max(key=results.get)", """
        from sklearn.tree import DecisionTreeClassifier
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        models = {"lr": LogisticRegression(), "tree": DecisionTreeClassifier()}
        results = {}
        for name, m in models.items():
            m.fit(X_tr, y_tr)
            results[name] = m.score(X_te, y_te)
        best = max(results, key=results.get)
     """),
    ("MSL304", "rows of test scores, DataFrame idxmax", """
        from sklearn.metrics import f1_score
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        rows = []
        for c in [0.1, 1.0, 10.0]:
            m = LogisticRegression(C=c).fit(X_tr, y_tr)
            rows.append({"C": c, "f1": f1_score(y_te, m.predict(X_te))})
        best = pd.DataFrame(rows)["f1"].idxmax()
     """),
    ("MSL304", "best = max(best, score) over a depth loop", """
        from sklearn.tree import DecisionTreeClassifier
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        best = 0.0
        for depth in range(1, 10):
            m = DecisionTreeClassifier(max_depth=depth).fit(X_tr, y_tr)
            best = max(best, m.score(X_te, y_te))
        print("best depth accuracy", best)
     """),
    ("MSL304", "a manual grid: nested loops, if score > best", """
        from sklearn.svm import SVC
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        best_score, best_params = 0.0, None
        for C in [0.1, 1, 10]:
            for gamma in [0.01, 0.1]:
                svc = SVC(C=C, gamma=gamma).fit(X_tr, y_tr)
                s = svc.score(X_te, y_te)
                if s > best_score:
                    best_score, best_params = s, (C, gamma)
     """),
    ("MSL304", "a comprehension that fits and scores, np.argmax", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        Cs = [0.1, 1.0, 10.0]
        scores = [LogisticRegression(C=c).fit(X_tr, y_tr).score(X_te, y_te) for c in Cs]
        best_c = Cs[int(np.argmax(scores))]
     """),
    ("MSL304", "max over fitted models with a key scoring on test", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        fitted = [LogisticRegression(C=c).fit(X_tr, y_tr) for c in (0.1, 1.0, 10.0)]
        best = max(fitted, key=lambda m: m.score(X_te, y_te))
     """),
    ("MSL304", "GridSearchCV fitted on the test part", """
        from sklearn.model_selection import GridSearchCV
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0, 10.0]})
        search.fit(X_te, y_te)
     """),
    ("MSL304", "EarlyStopping in a callbacks list bound to a name", """
        from tensorflow.keras.callbacks import EarlyStopping, ModelCheckpoint
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        callbacks = [EarlyStopping(patience=5), ModelCheckpoint("m.keras")]
        model.fit(X_tr, y_tr, epochs=100, validation_data=(X_te, y_te), callbacks=callbacks)
     """),
    ("MSL304", "xgboost.train with the test DMatrix in evals and early stopping", """
        import xgboost as xgb
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        dtrain = xgb.DMatrix(X_tr, label=y_tr)
        dtest = xgb.DMatrix(X_te, label=y_te)
        bst = xgb.train({"eta": 0.1}, dtrain, 500, evals=[(dtrain, "train"), (dtest, "test")],
                        early_stopping_rounds=20)
     """),
    ("MSL304", "CatBoost keeps the best iteration on its eval_set by default", """
        from catboost import CatBoostClassifier
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        cb = CatBoostClassifier(iterations=500)
        cb.fit(X_tr, y_tr, eval_set=(X_te, y_te))
     """),
    ("MSL304", "a Keras Tuner search validated on the test part", """
        import keras_tuner as kt
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=10)
        tuner.search(X_tr, y_tr, epochs=5, validation_data=(X_te, y_te))
     """),
    # ---- the target in the features ----------------------------------------------------------
    ("MSL305", "the target named through a variable, left in X by a drop of another column", """
        target = "churn"
        df = pd.read_csv("t.csv")
        X = df.drop(columns=["customer_id"])
        y = df[target]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL305", "X = df.iloc[:, :] with y a named column of it", """
        df = pd.read_csv("t.csv")
        X = df.iloc[:, :]
        y = df["price"]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL305", "a row filter keeps every column, the target among them", """
        df = pd.read_csv("t.csv")
        X = df[df["age"] > 18]
        X_tr, X_te, y_tr, y_te = train_test_split(X, X["income"])
     """),
    ("MSL305", "feature and label columns by position that overlap", """
        df = pd.read_csv("t.csv")
        X = df.iloc[:, 0:5].values
        y = df.iloc[:, 4].values
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL305", "a numpy table sliced with the label column inside the features", """
        data = np.loadtxt("t.csv", delimiter=",")
        X = data[:, :]
        y = data[:, -1]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL305", "a group mean of the target named through a variable", """
        target = "price"
        df = pd.read_csv("t.csv")
        df["city_mean"] = df.groupby("city")[target].transform("mean")
        X = df.drop(columns=[target])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df[target])
     """),
    ("MSL305", "a group mean of the target mapped through an intermediate name", """
        df = pd.read_csv("t.csv")
        means = df.groupby("city")["price"].mean()
        df["city_price"] = df["city"].map(means)
        X = df.drop(columns=["price", "city"])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["price"])
     """),
    ("MSL305", "a feature computed from the target column and kept", """
        df = pd.read_csv("t.csv")
        df["price_per_sqft"] = df["price"] / df["sqft"]
        X = df.drop(columns=["price"])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["price"])
     """),
    ("MSL305", "the target computed from a feature that X keeps", """
        df = pd.read_csv("wine.csv")
        df["good"] = (df["quality"] >= 7).astype(int)
        X = df.drop(columns=["good"])
        y = df["good"]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL305", "a row-filtered label column, the same filter keeping it in X", """
        df = pd.read_csv("t.csv")
        X = df[df["year"] > 2000]
        y = df[df["year"] > 2000]["price"]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL305", "the target written from two features that X both keeps", """
        df = pd.read_csv("matches.csv")
        df["win"] = np.where(df["home_goals"] > df["away_goals"], 1, 0)
        X = df.drop(columns=["win"])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["win"])
     """),
    ("MSL305", "labels computed with np.where from a column X keeps", """
        df = pd.read_csv("churn.csv")
        X = df.drop(columns=["customer_id"])
        y = np.where(df["Churn"] == "Yes", 1, 0)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("MSL301", "features chosen by their correlation with the target before the split", """
        df = pd.read_csv("t.csv")
        corr = df.corr(numeric_only=True)["price"].abs()
        feats = corr[corr > 0.3].index.drop("price")
        X = df[feats]
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["price"])
     """),
    ("MSL301", "the top correlated columns through a named matrix, then cross_val_score", """
        TARGET = "price"
        df = pd.read_csv("t.csv")
        corr_matrix = df.corr()
        top = corr_matrix[TARGET].abs().sort_values(ascending=False).index[1:6]
        print(cross_val_score(LogisticRegression(), df[top], df[TARGET]))
     """),
    ("MSL301", "weakly correlated columns dropped, corrwith the labels", """
        df = pd.read_csv("t.csv")
        y = df["price"]
        feats = df.drop(columns=["price"])
        r = feats.corrwith(y).abs()
        X = feats.drop(columns=r[r < 0.05].index)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    # ---- methods of the file's classes, helpers of the file that split by KFold or CV ---------
    ("MSL301", "a method of the same class fits on its argument", """
        class Experiment:
            def __init__(self, path):
                self.df = pd.read_csv(path)
            def prep(self, frame):
                return StandardScaler().fit_transform(frame)
            def run(self):
                X = self.prep(self.df[["a", "b"]])
                X_tr, X_te, y_tr, y_te = train_test_split(X, self.df["y"])
                return X_tr
     """),
    ("MSL301", "a method of the same class fits on self.X", """
        class Experiment:
            def __init__(self, path):
                self.X = pd.read_csv(path)
            def scaled(self):
                return StandardScaler().fit_transform(self.X)
            def run(self):
                X = self.scaled()
                X_tr, X_te = train_test_split(X)
                return X_tr
     """),
    ("MSL301", "a class instantiated, then its method called", """
        class Prep:
            def fit_all(self, frame):
                scaler = StandardScaler()
                return scaler.fit_transform(frame)
        df = pd.read_csv("t.csv")
        p = Prep()
        X = p.fit_all(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    ("MSL303", "a method of the same class fitted on the test part", """
        class Experiment:
            def __init__(self, path):
                self.df = pd.read_csv(path)
            def prep(self, frame):
                return StandardScaler().fit_transform(frame)
            def run(self):
                X_tr, X_te, y_tr, y_te = train_test_split(self.df[["a", "b"]], self.df["y"])
                return self.prep(X_te)
     """),
    ("MSL301", "fitted before a helper of the file that loops over KFold", """
        def folds(X, y):
            kf = KFold(n_splits=5)
            return kf.split(X, y)
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        for tr, te in folds(X, df["y"]):
            print(X[tr].mean())
     """),
    ("MSL301", "fitted before a helper of the file that cross-validates", """
        def evaluate(model, X, y):
            return cross_val_score(model, X, y, cv=5).mean()
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        print(evaluate(LogisticRegression(), X, df["y"]))
     """),
    # ---- Keras image augmentation ----------------------------------------------------------------
    ("MSL301", "an ImageDataGenerator's featurewise statistics fitted on all the images", """
        from tensorflow.keras.preprocessing.image import ImageDataGenerator
        X = np.load("images.npy")
        y = np.load("labels.npy")
        datagen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
        datagen.fit(X)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2)
        model.fit(datagen.flow(X_tr, y_tr, batch_size=32), epochs=10)
     """),
    ("MSL302", "an ImageDataGenerator's augmented batch stacked onto the images", """
        from keras.preprocessing.image import ImageDataGenerator
        X = np.load("images.npy")
        y = np.load("labels.npy")
        datagen = ImageDataGenerator(rotation_range=20, horizontal_flip=True)
        X_aug, y_aug = next(datagen.flow(X, y, batch_size=len(X), shuffle=False))
        X_all = np.concatenate([X, X_aug])
        y_all = np.concatenate([y, y_aug])
        X_tr, X_te, y_tr, y_te = train_test_split(X_all, y_all, test_size=0.2)
     """),
    ("MSL302", "Keras augmentation layers applied to all the images", """
        import tensorflow as tf
        from tensorflow.keras import layers
        X = np.load("images.npy")
        y = np.load("labels.npy")
        augment = tf.keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)])
        X_all = np.concatenate([X, augment(X, training=True)])
        y_all = np.tile(y, 2)
        X_tr, X_te, y_tr, y_te = train_test_split(X_all, y_all, test_size=0.2)
     """),
    ("MSL301", "a method fits the transformer its class keeps in an attribute", """
        class Experiment:
            def __init__(self, path):
                self.df = pd.read_csv(path)
                self.scaler = StandardScaler()
            def prep(self, frame):
                return self.scaler.fit_transform(frame)
            def run(self):
                X = self.prep(self.df[["a", "b"]])
                X_tr, X_te, y_tr, y_te = train_test_split(X, self.df["y"])
                return X_tr
     """),
]

NEGATIVE: list[tuple[str, str]] = [
    # ---- helpers of the file -----------------------------------------------------------------
    ("a helper that scales for a printout and returns its input unchanged", """
        def show(frame):
            print(StandardScaler().fit_transform(frame)[:5])
            return frame
        df = pd.read_csv("t.csv")
        X = show(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    ("a helper that scales, called on the training part only", """
        def prepare(frame):
            return StandardScaler().fit_transform(frame)
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_tr = prepare(X_tr)
        LogisticRegression().fit(X_tr, y_tr)
     """),
    ("a helper that builds a Pipeline, cross-validated", """
        from sklearn.pipeline import make_pipeline
        def build(C):
            return make_pipeline(StandardScaler(), LogisticRegression(C=C))
        X, y = load()
        print(cross_val_score(build(1.0), X, y))
     """),
    ("a helper that scales, used with no split in sight", """
        def prepare(frame):
            return StandardScaler().fit_transform(frame)
        df = pd.read_csv("t.csv")
        LogisticRegression().fit(prepare(df[["a"]]), df["y"])
     """),
    # ---- augmentation and duplication --------------------------------------------------------
    ("two selections of one frame, reordered", """
        df = pd.read_csv("t.csv")
        df = pd.concat([df[df.y == 0], df[df.y == 1]])
        X_tr, X_te, y_tr, y_te = train_test_split(df[["a"]], df["y"])
     """),
    ("features stacked side by side (axis=1)", """
        X, y = load()
        X2 = np.concatenate([X, X ** 2], axis=1)
        wide = pd.concat([pd.DataFrame(X), pd.DataFrame(np.log1p(X))], axis="columns")
        X_tr, X_te, y_tr, y_te = train_test_split(X2, y)
        W_tr, W_te, v_tr, v_te = train_test_split(wide, y)
     """),
    ("the training part augmented, scored on the untouched test part", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_tr = np.concatenate([X_tr, X_tr + 0.01])
        y_tr = np.concatenate([y_tr, y_tr])
        LogisticRegression().fit(X_tr, y_tr).score(X_te, y_te)
     """),
    ("the parts of a split joined back", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_all = np.concatenate([X_tr, X_te])
        y_all = np.concatenate([y_tr, y_te])
        print(cross_val_score(LogisticRegression(), X_all, y_all))
     """),
    ("two files concatenated", """
        a = pd.read_csv("a.csv")
        b = pd.read_csv("b.csv")
        df = pd.concat([a, b])
        X_tr, X_te, y_tr, y_te = train_test_split(df[["x"]], df["y"])
     """),
    ("augmented copies kept with their original row by GroupKFold", """
        from sklearn.model_selection import GroupKFold
        X, y = load()
        ids = np.arange(len(X))
        X_aug = np.concatenate([X, X + 0.01])
        y_aug = np.concatenate([y, y])
        groups = np.concatenate([ids, ids])
        print(cross_val_score(LogisticRegression(), X_aug, y_aug, groups=groups, cv=GroupKFold(5)))
     """),
    ("a shift by the minimum before the split (a translation, no scaling)", """
        X, y = load()
        X = X - X.min()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("np.repeat without an axis (a flat array, not rows)", """
        X, y = load()
        weights = np.repeat(1.0 / 3, 3)
        X_tr, X_te, y_tr, y_te = train_test_split(X * weights, y)
     """),
    # ---- the test set used to choose the model -----------------------------------------------
    ("test scores of several models in a dict, printed only", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        results = {}
        for c in [0.1, 1.0]:
            m = LogisticRegression(C=c).fit(X_tr, y_tr)
            results[c] = m.score(X_te, y_te)
        print(results)
     """),
    ("the best of cross-validation scores in a dict, the test set scored once", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        results = {}
        for c in [0.1, 1.0]:
            results[c] = cross_val_score(LogisticRegression(C=c), X_tr, y_tr).mean()
        best_c = max(results, key=results.get)
        LogisticRegression(C=best_c).fit(X_tr, y_tr).score(X_te, y_te)
     """),
    ("the best model chosen on a validation part, the test part scored once", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_fit, X_val, y_fit, y_val = train_test_split(X_tr, y_tr)
        fitted = [LogisticRegression(C=c).fit(X_fit, y_fit) for c in (0.1, 1.0, 10.0)]
        best = max(fitted, key=lambda m: m.score(X_val, y_val))
        best.score(X_te, y_te)
     """),
    ("a search fitted on the training part, scored on the test part", """
        from sklearn.model_selection import GridSearchCV
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}).fit(X_tr, y_tr)
        print(search.score(X_te, y_te))
     """),
    ("CatBoost told not to keep the best iteration", """
        from catboost import CatBoostClassifier
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        cb = CatBoostClassifier(iterations=500)
        cb.fit(X_tr, y_tr, eval_set=(X_te, y_te), use_best_model=False)
     """),
    ("xgboost.train watching the test DMatrix without early stopping", """
        import xgboost as xgb
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        dtest = xgb.DMatrix(X_te, label=y_te)
        bst = xgb.train({"eta": 0.1}, xgb.DMatrix(X_tr, label=y_tr), 100, evals=[(dtest, "test")])
     """),
    ("one model per fold scored on that fold's test part, the mean reported", """
        X, y = load()
        scores = []
        for tr, te in KFold(5).split(X):
            m = LogisticRegression().fit(X[tr], y[tr])
            scores.append(m.score(X[te], y[te]))
        print(np.mean(scores), "best fold", max(scores))
     """),
    # ---- the target in the features ----------------------------------------------------------
    ("features by position left of the label column", """
        df = pd.read_csv("t.csv")
        X = df.iloc[:, :-1].values
        y = df.iloc[:, -1].values
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("the label in the first column, the features after it", """
        data = np.loadtxt("t.csv", delimiter=",")
        X_tr, X_te, y_tr, y_te = train_test_split(data[:, 1:], data[:, 0])
     """),
    ("features by position that stop before the label column", """
        df = pd.read_csv("iris.csv")
        X = df.iloc[:, 0:4]
        y = df.iloc[:, 4]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("a group mean of the target, dropped from the features", """
        df = pd.read_csv("t.csv")
        df["city_mean"] = df.groupby("city")["price"].transform("mean")
        X = df.drop(columns=["price", "city_mean"])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["price"])
     """),
    ("a feature from the target, the features chosen by name without it", """
        df = pd.read_csv("t.csv")
        df["price_per_sqft"] = df["price"] / df["sqft"]
        X_tr, X_te, y_tr, y_te = train_test_split(df[["sqft", "rooms"]], df["price"])
     """),
    ("the target recoded in place (its own column)", """
        df = pd.read_csv("t.csv")
        df["churn"] = df["churn"].map({"Yes": 1, "No": 0})
        X = df.drop(columns=["churn"])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["churn"])
     """),
    ("the target computed from a feature that is dropped too", """
        df = pd.read_csv("wine.csv")
        df["good"] = (df["quality"] >= 7).astype(int)
        X = df.drop(columns=["good", "quality"])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["good"])
     """),
    ("labels computed from a column that X does not keep", """
        df = pd.read_csv("wine.csv")
        X = df.drop(columns=["quality"])
        y = (df["quality"] >= 7).astype(int)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("a ratio as the label, one of its sources dropped from X", """
        df = pd.read_csv("t.csv")
        X = df.drop(columns=["price"])
        y = df["price"] / df["sqft"]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("a row-filtered label; X keeps the filter's column, not the label", """
        df = pd.read_csv("t.csv")
        X = df[df["year"] > 2000].drop(columns=["price"])
        y = df[df["year"] > 2000]["price"]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("labels by .loc[mask, column], dropped from X", """
        df = pd.read_csv("t.csv")
        X = df.loc[df["a"] > 0].drop(columns="y")
        y = df.loc[df["a"] > 0, "y"]
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
     """),
    ("correlations printed, the features listed by hand", """
        df = pd.read_csv("t.csv")
        print(df.corr()["price"].sort_values())
        X_tr, X_te, y_tr, y_te = train_test_split(df[["a", "b"]], df["price"])
     """),
    ("collinear features dropped by their correlation with each other, not the target", """
        df = pd.read_csv("t.csv")
        corr = df.drop(columns="price").corr().abs()
        to_drop = [c for c in corr.columns if (corr[c] > 0.95).sum() > 1]
        X = df.drop(columns=to_drop + ["price"])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["price"])
     """),
    ("features chosen by their correlation with the target on the training part", """
        df = pd.read_csv("t.csv")
        train, test = train_test_split(df, test_size=0.2)
        corr = train.corr()["price"].abs()
        feats = corr[corr > 0.3].index.drop("price")
        model = LogisticRegression().fit(train[feats], train["price"])
        model.score(test[feats], test["price"])
     """),
    # ---- methods, helpers that split: the fixed twins ------------------------------------------
    ("a method of the same class fits on the training part", """
        class Experiment:
            def __init__(self, path):
                self.df = pd.read_csv(path)
            def prep(self, frame):
                return StandardScaler().fit_transform(frame)
            def run(self):
                X_tr, X_te, y_tr, y_te = train_test_split(self.df[["a", "b"]], self.df["y"])
                return self.prep(X_tr)
     """),
    ("a class's method that only cleans the rows", """
        class Prep:
            def fit_all(self, frame):
                return frame.dropna()
        df = pd.read_csv("t.csv")
        p = Prep()
        X = p.fit_all(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    ("a method that fits, with no split in sight", """
        class Prep:
            def fit_all(self, frame):
                return StandardScaler().fit_transform(frame)
        df = pd.read_csv("t.csv")
        X = Prep().fit_all(df[["a", "b"]])
        print(LogisticRegression().fit(X, df["y"]).coef_)
     """),
    ("a helper of the file that cross-validates a pipeline", """
        from sklearn.pipeline import make_pipeline
        def evaluate(model, X, y):
            return cross_val_score(model, X, y, cv=5).mean()
        df = pd.read_csv("t.csv")
        print(evaluate(make_pipeline(StandardScaler(), LogisticRegression()), df[["a", "b"]], df["y"]))
     """),
    ("scaled inside each fold of a helper's KFold", """
        def folds(X, y):
            kf = KFold(n_splits=5)
            return kf.split(X, y)
        df = pd.read_csv("t.csv")
        X = df[["a", "b"]].to_numpy()
        for tr, te in folds(X, df["y"]):
            sc = StandardScaler().fit(X[tr])
            print(sc.transform(X[te]).mean())
     """),
    # ---- Keras image augmentation: the fixed twins -----------------------------------------------
    ("an ImageDataGenerator fitted and flowing on the training part", """
        from tensorflow.keras.preprocessing.image import ImageDataGenerator
        X = np.load("images.npy")
        y = np.load("labels.npy")
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2)
        datagen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
        datagen.fit(X_tr)
        X_aug, y_aug = next(datagen.flow(X_tr, y_tr, batch_size=len(X_tr)))
        X_tr = np.concatenate([X_tr, X_aug])
        model.fit(datagen.flow(X_tr, y_tr, batch_size=32), validation_data=datagen.flow(X_te, y_te))
     """),
    ("an ImageDataGenerator with no featurewise statistics fitted on all the images", """
        from tensorflow.keras.preprocessing.image import ImageDataGenerator
        X = np.load("images.npy")
        y = np.load("labels.npy")
        datagen = ImageDataGenerator(rotation_range=20, featurewise_center=False)
        datagen.fit(X)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2)
        model.fit(datagen.flow(X_tr, y_tr, batch_size=32), epochs=10)
     """),
    ("Keras augmentation layers applied to the training part", """
        import tensorflow as tf
        from tensorflow.keras import layers
        X = np.load("images.npy")
        y = np.load("labels.npy")
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2)
        augment = tf.keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)])
        X_tr = np.concatenate([X_tr, augment(X_tr, training=True)])
        y_tr = np.concatenate([y_tr, y_tr])
     """),
    ("a Keras model (not an augmentation) applied to all the images", """
        import tensorflow as tf
        from tensorflow.keras import layers
        X = np.load("images.npy")
        y = np.load("labels.npy")
        encoder = tf.keras.Sequential([layers.Flatten(), layers.Dense(8)])
        X_all = np.concatenate([X.reshape(len(X), -1), encoder(X)], axis=1)
        X_tr, X_te, y_tr, y_te = train_test_split(X_all, y, test_size=0.2)
     """),
    ("the transformer kept in an attribute fitted on the training part", """
        class Experiment:
            def __init__(self, path):
                self.df = pd.read_csv(path)
                self.scaler = StandardScaler()
            def run(self):
                X_tr, X_te, y_tr, y_te = train_test_split(self.df[["a", "b"]], self.df["y"])
                X_tr = self.scaler.fit_transform(X_tr)
                return X_tr, self.scaler.transform(X_te)
     """),
]


@pytest.mark.parametrize(("rule", "flow", "body"), POSITIVE, ids=[f"{r}-{f}" for r, f, _ in POSITIVE])
@pytest.mark.parametrize("form", ["py", "ipynb"])
def test_fires(checker, rule: str, flow: str, body: str, form: str) -> None:
    fired = leak_rules(checker, body, form)
    assert rule in fired, (flow, fired)
    assert not [r for r in fired if r != rule], (flow, fired)


@pytest.mark.parametrize(("flow", "body"), NEGATIVE, ids=[f for f, _ in NEGATIVE])
@pytest.mark.parametrize("form", ["py", "ipynb"])
def test_correct_idioms_are_clean(checker, flow: str, body: str, form: str) -> None:
    assert leak_rules(checker, body, form, "ok") == [], flow


def _findings(checker, body: str, rule: str):
    report = checker.check_source(src(body), "p.py")
    assert not report.errors, report.errors
    return [f for f in report.findings if f.rule == rule]


def test_helper_fit_is_reported_at_the_call_with_the_helper_named(checker) -> None:
    body = """
        def prepare(frame):
            return StandardScaler().fit_transform(frame)
        df = pd.read_csv("t.csv")
        X = prepare(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
    """
    [finding] = _findings(checker, body, "MSL301")
    assert src(body).splitlines()[finding.line - 1].strip() == 'X = prepare(df[["a", "b"]])'
    assert "(in `prepare()`)" in finding.message
    assert finding.evidence["transformer"] == "StandardScaler"  # what the confirmation re-creates


def test_helper_that_reads_its_own_rows_is_reported_at_its_fit(checker) -> None:
    body = """
        def load_scaled():
            df = pd.read_csv("t.csv")
            return StandardScaler().fit_transform(df[["a", "b"]]), df["y"]
        X, y = load_scaled()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
    """
    [finding] = _findings(checker, body, "MSL301")
    assert "fit_transform" in src(body).splitlines()[finding.line - 1]


def test_one_helper_two_calls_one_finding_per_leaking_call(checker) -> None:
    """The summary is per function: the call on raw rows before the split leaks, the one on the training part
    does not."""
    body = """
        def prepare(frame):
            return StandardScaler().fit_transform(frame)
        X, y = load()
        Z = prepare(X)
        Z_tr, Z_te, y_tr, y_te = train_test_split(Z, y)
        W_tr, W_te, v_tr, v_te = train_test_split(X, y)
        W_tr = prepare(W_tr)
    """
    findings = _findings(checker, body, "MSL301")
    assert [src(body).splitlines()[f.line - 1].strip() for f in findings] == ["Z = prepare(X)"]


def test_augmented_features_and_labels_are_one_finding(checker) -> None:
    body = """
        X, y = load()
        X_aug = np.concatenate([X, X + 0.1])
        y_aug = np.concatenate([y, y])
        X_tr, X_te, y_tr, y_te = train_test_split(X_aug, y_aug)
        print(cross_val_score(LogisticRegression(), X_aug, y_aug))
    """
    [finding] = _findings(checker, body, "MSL302")
    assert "X_aug = " in src(body).splitlines()[finding.line - 1]
    assert finding.evidence["transformer"] == "copies"
    assert "duplicates rows that are later split" in finding.message


def test_search_fitted_on_the_test_part_is_msl304_not_msl303(checker) -> None:
    body = """
        from sklearn.model_selection import GridSearchCV
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        GridSearchCV(LogisticRegression(), {"C": [1, 10]}).fit(X_te, y_te)
    """
    assert [r for r in rules_of(checker, as_form(body, "py"), "p.py") if r.startswith("MSL3")] == ["MSL304"]


def test_selection_names_how_the_best_was_kept(checker) -> None:
    body = """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        results = {}
        for c in [0.1, 1.0]:
            m = LogisticRegression(C=c).fit(X_tr, y_tr)
            results[c] = m.score(X_te, y_te)
        best = max(results, key=results.get)
    """
    [finding] = _findings(checker, body, "MSL304")
    assert src(body).splitlines()[finding.line - 1].strip() == "results[c] = m.score(X_te, y_te)"
    assert finding.evidence["selection"] == "`max(results, key=results.get)`"


def test_correlation_selection_is_confirmed_as_a_supervised_selector(checker) -> None:
    body = """
        df = pd.read_csv("t.csv")
        corr = df.corr()["price"].abs()
        X = df[corr[corr > 0.3].index.drop("price")]
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["price"])
    """
    [finding] = _findings(checker, body, "MSL301")
    assert src(body).splitlines()[finding.line - 1].strip() == 'corr = df.corr()["price"].abs()'
    assert finding.evidence["transformer"] == "SelectKBest"


def test_positional_overlap_names_the_column(checker) -> None:
    body = """
        df = pd.read_csv("t.csv")
        X_tr, X_te, y_tr, y_te = train_test_split(df.iloc[:, 2:6], df.iloc[:, 5])
    """
    [finding] = _findings(checker, body, "MSL305")
    assert "holds column 5, the labels' column" in finding.message


def test_target_in_features_notes_cells_run_out_of_order(checker) -> None:
    """The written order is followed; the note says the saved execution counts ran the split's cell first."""
    code = src("""
        df = pd.read_csv("t.csv")

        df["city_mean"] = df.groupby("city")["price"].transform("mean")

        X_tr, X_te, y_tr, y_te = train_test_split(df.drop(columns=["price"]), df["price"])
    """)
    doc = json.loads(notebook(code))
    doc["cells"][2]["execution_count"], doc["cells"][3]["execution_count"] = 7, 3
    report = check_bytes(checker, json.dumps(doc).encode(), "nb.ipynb")
    [finding] = [f for f in report.findings if f.rule == "MSL305"]
    assert finding.cell == 3 and finding.evidence["execution_order"]["related_cell"] == 4  # markdown, imports first
    assert "other order" in finding.message


def test_a_chain_of_helpers_names_the_innermost_and_the_outermost(checker) -> None:
    """The summary of each function is built once and reused; the message stays one line however deep."""
    chain = "\n".join(f"def f{i}(x):\n    return f{i - 1}(x)" for i in range(1, 30))
    body = ("def f0(x):\n    return StandardScaler().fit_transform(x)\n" + chain +
            "\nX, y = load()\nX_tr, X_te, y_tr, y_te = train_test_split(f29(X), y)\n")
    [finding] = _findings(checker, body, "MSL301")
    assert "(in `f0()`, called through `f29()`)" in finding.message
    assert finding.evidence["transformer"] == "StandardScaler"
