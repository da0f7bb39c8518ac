"""The SARIF validator the tests rely on (tests/sarif_support.py) catches what it claims to: each layer is
shown a log broken in one way and must name the break, and passes the unbroken log. A validator that
accepts everything would make every SARIF test pass; these tests make sure it cannot."""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.sarif_support import github_problems, multitool_problems, schema_problems


def good_log() -> dict[str, Any]:
    rule = {"id": "MSL101", "name": "log1p", "shortDescription": {"text": "log(1 + x) loses digits."},
            "fullDescription": {"text": "log(1 + x) loses the digits of a small x; use log1p(x)."},
            "help": {"text": "Use log1p.", "markdown": "Use `log1p`."},
            "defaultConfiguration": {"level": "warning"}, "properties": {"tags": ["numerics"]}}
    result = {"ruleId": "MSL101", "ruleIndex": 0, "level": "warning",
              "message": {"text": "`np.log(1 + x)` loses digits; use `np.log1p(x)`."},
              "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/a.py", "uriBaseId": "%SRCROOT%"},
                                                  "region": {"startLine": 3, "startColumn": 5}}}],
              "partialFingerprints": {"mlstablint/v1": "abc123"}}
    return {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [{"tool": {"driver": {"name": "mlstablint", "rules": [rule]}},
                      "automationDetails": {"id": "mlstablint/"},
                      "invocations": [{"executionSuccessful": True}],
                      "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///repo/"}},
                      "results": [result]}]}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit setting (or, with value ..., deleting) the key at a dotted path; numbers index lists."""
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return edit


RESULT = "runs.0.results.0"
RULE = "runs.0.tool.driver.rules.0"
BREAKS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "absolute uri": (_set(f"{RESULT}.locations.0.physicalLocation.artifactLocation.uri", "/home/u/src/a.py"),
                     "not a relative POSIX path"),
    "file scheme": (_set(f"{RESULT}.locations.0.physicalLocation.artifactLocation.uri", "file:///src/a.py"),
                    "not a relative POSIX path"),
    "uri leaves the repository": (_set(f"{RESULT}.locations.0.physicalLocation.artifactLocation.uri", "../a.py"),
                                  "not a relative POSIX path"),
    "no uriBaseId": (_set(f"{RESULT}.locations.0.physicalLocation.artifactLocation.uriBaseId", ...), "%SRCROOT%"),
    "line 0": (_set(f"{RESULT}.locations.0.physicalLocation.region.startLine", 0), "startLine"),
    "implicit level": (_set(f"{RESULT}.level", ...), "level must be written"),
    "no location": (_set(f"{RESULT}.locations", []), "no location"),
    "empty message": (_set(f"{RESULT}.message.text", " "), "message.text is empty"),
    "unknown rule": (_set(f"{RESULT}.ruleId", "MSL999"), "not a rule"),
    "wrong ruleIndex": (_set(f"{RESULT}.ruleIndex", 3), "ruleIndex"),
    "no fingerprint": (_set(f"{RESULT}.partialFingerprints", ...), "partialFingerprints"),
    "long description": (_set(f"{RULE}.fullDescription.text", "x" * 1025), "over 1024"),
    "empty description": (_set(f"{RULE}.shortDescription.text", ""), "shortDescription.text is empty"),
    "no help": (_set(f"{RULE}.help", ...), "help.text"),
    "no default level": (_set(f"{RULE}.defaultConfiguration", ...), "defaultConfiguration.level"),
    "too many tags": (_set(f"{RULE}.properties.tags", [f"t{i}" for i in range(21)]), "more than 20 tags"),
    "security severity": (_set(f"{RULE}.properties.security-severity", "5.0"), "security-severity"),
    "results missing": (_set("runs.0.results", ...), "results is missing"),
    "wrong version": (_set("version", "2.0.0"), "version must be 2.1.0"),
    "two runs, one category": (lambda d: d["runs"].append(copy.deepcopy(d["runs"][0])), "share a category"),
}


def test_the_unbroken_log_passes_the_schema_and_the_github_rules() -> None:
    assert schema_problems(good_log()) == []
    assert github_problems(good_log()) == []


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_each_github_rule_catches_its_break(name: str) -> None:
    edit, expected = BREAKS[name]
    doc = good_log()
    edit(doc)
    problems = github_problems(doc)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("edit", [_set(f"{RESULT}.level", "fatal"), _set("runs.0.tool.driver.name", 3),
                                  _set(f"{RESULT}.locations.0.physicalLocation.region.startLine", -2),
                                  _set("runs.0.unexpected", True)])
def test_the_schema_layer_rejects_what_the_oasis_schema_forbids(edit: Callable[[dict[str, Any]], None]) -> None:
    doc = good_log()
    edit(doc)
    assert schema_problems(doc)


def test_multitool_layer_is_available() -> None:
    """Shows in the test summary why the Multitool layer is skipped on a machine without npm."""
    if shutil.which("npm") is None:
        if os.environ.get("MLSTABLINT_REQUIRE_MULTITOOL") == "1":
            pytest.fail("npm is missing and MLSTABLINT_REQUIRE_MULTITOOL=1 requires the SARIF Multitool")
        pytest.skip("npm is not installed: the SARIF Multitool layer of every SARIF test is skipped")


@pytest.mark.skipif(shutil.which("npm") is None and os.environ.get("MLSTABLINT_REQUIRE_MULTITOOL") != "1",
                    reason="npm is not installed: the SARIF Multitool cannot run")
def test_the_multitool_passes_the_unbroken_log_and_rejects_an_absolute_uri(tmp_path: Path) -> None:
    good = tmp_path / "good.sarif"
    good.write_text(json.dumps(good_log()), encoding="utf-8")
    assert multitool_problems(good) == []
    doc = good_log()
    BREAKS["absolute uri"][0](doc)
    bad = tmp_path / "bad.sarif"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    assert multitool_problems(bad), "the Multitool accepted an absolute path"
