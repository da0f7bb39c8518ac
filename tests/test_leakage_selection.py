"""MSL304 cases found while measuring the family on tutorial code: a decision threshold (or a model fitted
elsewhere) chosen by its test score in a loop that fits nothing, and Keras' `evaluate` as the test score.
Each positive has a twin that makes the same choice on a validation part, or makes none; every case runs as a
`.py` file and as a notebook."""

from __future__ import annotations

import pytest

from tests.leakage_support import leak_rules, rules_of, src

POSITIVE: list[tuple[str, str]] = [
    ("a decision threshold chosen by test accuracy, np.argmax over the list", """
        from sklearn.metrics import accuracy_score
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        proba = LogisticRegression().fit(X_tr, y_tr).predict_proba(X_te)[:, 1]
        cutoffs = np.linspace(0.1, 0.9, 17)
        accs = []
        for cut in cutoffs:
            labels = (proba >= cut).astype(int)
            accs.append(accuracy_score(y_te, labels))
        chosen = cutoffs[int(np.argmax(accs))]
        print(accuracy_score(y_te, proba >= chosen))
     """),
    ("a threshold kept by `if f1 > best` on the test labels", """
        from sklearn.metrics import f1_score
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        scores_te = LogisticRegression().fit(X_tr, y_tr).decision_function(X_te)
        best_f1, best_t = -1.0, 0.0
        for t in np.quantile(scores_te, [0.2, 0.4, 0.6, 0.8]):
            f1 = f1_score(y_te, scores_te > t)
            if f1 > best_f1:
                best_f1, best_t = f1, t
     """),
    ("models fitted before the loop, the best of their test scores kept", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        fitted = {c: LogisticRegression(C=c).fit(X_tr, y_tr) for c in (0.1, 1.0, 10.0)}
        results = {}
        for c, m in fitted.items():
            results[c] = m.score(X_te, y_te)
        best_c = max(results, key=results.get)
     """),
    ("Keras models compared by model.evaluate on the test part", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        best_acc, best_units = 0.0, None
        for units in (16, 32, 64):
            net = build_net(units)
            net.fit(X_tr, y_tr, epochs=5)
            loss, acc = net.evaluate(X_te, y_te)
            if acc > best_acc:
                best_acc, best_units = acc, units
     """),
    ("evaluate(...)[1] collected per learning rate, then argmax", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        rates = [1e-2, 1e-3, 1e-4]
        accs = []
        for lr in rates:
            net = build_net(lr)
            net.fit(X_tr, y_tr, epochs=5)
            accs.append(net.evaluate(X_te, y_te)[1])
        lr_best = rates[int(np.argmax(accs))]
     """),
]

NEGATIVE: list[tuple[str, str]] = [
    ("the threshold chosen on a validation part, the test part scored once", """
        from sklearn.metrics import accuracy_score
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_fit, X_val, y_fit, y_val = train_test_split(X_tr, y_tr)
        clf = LogisticRegression().fit(X_fit, y_fit)
        proba_val = clf.predict_proba(X_val)[:, 1]
        cutoffs = np.linspace(0.1, 0.9, 17)
        accs = []
        for cut in cutoffs:
            accs.append(accuracy_score(y_val, proba_val >= cut))
        chosen = cutoffs[int(np.argmax(accs))]
        print(accuracy_score(y_te, clf.predict_proba(X_te)[:, 1] >= chosen))
     """),
    ("test accuracy per threshold plotted, nothing chosen", """
        import matplotlib.pyplot as plt
        from sklearn.metrics import accuracy_score
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        proba = LogisticRegression().fit(X_tr, y_tr).predict_proba(X_te)[:, 1]
        cutoffs = np.linspace(0.1, 0.9, 17)
        accs = []
        for cut in cutoffs:
            accs.append(accuracy_score(y_te, proba >= cut))
        plt.plot(cutoffs, accs)
     """),
    ("one model's test score per class, the weakest class reported", """
        from sklearn.metrics import recall_score
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        pred = LogisticRegression().fit(X_tr, y_tr).predict(X_te)
        per_class = []
        for k in range(3):
            per_class.append(recall_score(y_te == k, pred == k))
        print("weakest class", int(np.argmin(per_class)))
     """),
    ("Keras models compared by evaluate on a validation part, the test part once", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        X_fit, X_val, y_fit, y_val = train_test_split(X_tr, y_tr)
        best_acc, best_net = 0.0, None
        for units in (16, 32, 64):
            net = build_net(units)
            net.fit(X_fit, y_fit, epochs=5)
            loss, acc = net.evaluate(X_val, y_val)
            if acc > best_acc:
                best_acc, best_net = acc, net
        print(best_net.evaluate(X_te, y_te))
     """),
    ("Keras models evaluated on the test part and printed", """
        X, y = load()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y)
        for units in (16, 32, 64):
            net = build_net(units)
            net.fit(X_tr, y_tr, epochs=5, validation_data=(X_te, y_te))
            loss, acc = net.evaluate(X_te, y_te)
            print(units, acc)
     """),
]


@pytest.mark.parametrize(("flow", "body"), POSITIVE, ids=[f for f, _ in POSITIVE])
@pytest.mark.parametrize("form", ["py", "ipynb"])
def test_selection_on_test_fires(checker, flow: str, body: str, form: str) -> None:
    assert leak_rules(checker, body, form) == ["MSL304"], flow


@pytest.mark.parametrize(("flow", "body"), NEGATIVE, ids=[f for f, _ in NEGATIVE])
@pytest.mark.parametrize("form", ["py", "ipynb"])
def test_no_choice_on_test_is_clean(checker, flow: str, body: str, form: str) -> None:
    assert leak_rules(checker, body, form, "ok") == [], flow


def test_threshold_finding_points_at_the_test_score(checker) -> None:
    body = POSITIVE[0][1]
    report = checker.check_source(src(body), "p.py")
    [finding] = [f for f in report.findings if f.rule == "MSL304"]
    line = src(body).splitlines()[finding.line - 1]
    assert "accuracy_score(y_te, labels)" in line
    assert "np.argmax(accs)" in finding.message
    assert rules_of(checker, src(body).encode(), "p.py").count("MSL304") == 1


@pytest.mark.parametrize(("index", "scored_for", "chosen"), [
    (0, "each decision threshold `cut` in `cutoffs`", "to choose the threshold"),
    (1, "each decision threshold `t` in", "to choose the threshold"),
    (2, "each fitted model `c, m` in `fitted.items()`", "to choose the model"),
    (3, "several models", "to choose the model"),
    (4, "several models", "to choose the model"),
])
def test_selection_message_names_what_was_chosen(checker, index: int, scored_for: str, chosen: str) -> None:
    """A loop that fits nothing chooses a threshold or one of the models fitted before it, not among models
    it trains: the message says which."""
    report = checker.check_source(src(POSITIVE[index][1]), "p.py")
    [finding] = [f for f in report.findings if f.rule == "MSL304"]
    assert f"computed for {scored_for}" in finding.message
    assert chosen in finding.message
    assert ("several models" in finding.message) == (scored_for == "several models")
