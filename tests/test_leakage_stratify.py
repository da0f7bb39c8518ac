"""MSL305 and a splitter that stratifies a whole frame by one of its own columns (found while measuring the
family on course code): `sss.split(df, df["band"])` yields row indices for a stratified train/test division,
and the column is no label. The twins keep a real target in the features and must still be reported; every
case runs as a `.py` file and as a notebook."""

from __future__ import annotations

import pytest

from tests.leakage_support import leak_rules

NEGATIVE: list[tuple[str, str]] = [
    ("a frame stratified by a binned column it holds, the band dropped from both parts", """
        from sklearn.model_selection import StratifiedShuffleSplit
        from sklearn.linear_model import LinearRegression
        flats = pd.read_csv("flats.csv")
        flats["size_band"] = pd.cut(flats["area"], bins=[0, 40, 70, 100, np.inf], labels=[1, 2, 3, 4])
        sss = StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=3)
        for tr, te in sss.split(flats, flats["size_band"]):
            fit_part = flats.loc[tr].drop(columns="size_band")
            held_out = flats.loc[te].drop(columns="size_band")
        reg = LinearRegression().fit(fit_part.drop(columns="rent"), fit_part["rent"])
        print(reg.score(held_out.drop(columns="rent"), held_out["rent"]))
     """),
    ("StratifiedKFold over a frame by one of its categorical columns", """
        from sklearn.model_selection import StratifiedKFold
        trips = pd.read_csv("trips.csv")
        skf = StratifiedKFold(n_splits=4)
        for tr, te in skf.split(trips, trips["city"]):
            print(trips.loc[tr, "fare"].mean(), trips.loc[te, "fare"].mean())
     """),
]

POSITIVE: list[tuple[str, str]] = [
    ("StratifiedKFold on a column selection that keeps the label", """
        from sklearn.model_selection import StratifiedKFold
        flats = pd.read_csv("flats.csv")
        X = flats[["area", "rooms", "pricey"]]
        y = flats["pricey"]
        for tr, te in StratifiedKFold(n_splits=4).split(X, y):
            clf = LogisticRegression().fit(X.iloc[tr], y.iloc[tr])
            print(clf.score(X.iloc[te], y.iloc[te]))
     """),
    ("train_test_split of a frame with its own column as the labels", """
        flats = pd.read_csv("flats.csv")
        X_tr, X_te, y_tr, y_te = train_test_split(flats, flats["pricey"], test_size=0.25)
        clf = LogisticRegression().fit(X_tr, y_tr)
        print(clf.score(X_te, y_te))
     """),
]


@pytest.mark.parametrize(("flow", "body"), NEGATIVE, ids=[f for f, _ in NEGATIVE])
@pytest.mark.parametrize("form", ["py", "ipynb"])
def test_frame_stratified_by_its_column_is_clean(checker, flow: str, body: str, form: str) -> None:
    assert leak_rules(checker, body, form, "ok") == [], flow


@pytest.mark.parametrize(("flow", "body"), POSITIVE, ids=[f for f, _ in POSITIVE])
@pytest.mark.parametrize("form", ["py", "ipynb"])
def test_label_kept_in_features_still_fires(checker, flow: str, body: str, form: str) -> None:
    assert leak_rules(checker, body, form) == ["MSL305"], flow
