"""SARIF validation for the tests, in three layers, all kept in this repository:

1. the OASIS SARIF 2.1.0 JSON schema (vendored in tests/sarif/, see its README), checked with jsonschema;
2. the GitHub code-scanning ingestion rules this project relies on, written here as our own checks
   (`github_problems`); tests/test_sarif_validation.py shows each one catching a broken log;
3. Microsoft's SARIF Multitool (`@microsoft/sarif-multitool` from npm) with its GitHub rules (GH1001-GH1007)
   enabled as errors by tests/sarif/github-rules.xml. It is installed with npm into `.test-tools/` inside the
   checkout the first time. Without npm this layer alone is skipped, with the reason given as a warning;
   with MLSTABLINT_REQUIRE_MULTITOOL=1 (CI sets it) a missing npm fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import jsonschema

ROOT = Path(__file__).resolve().parent.parent
SARIF_DIR = ROOT / "tests" / "sarif"
SCHEMA = SARIF_DIR / "sarif-schema-2.1.0.json"
GITHUB_RULES = SARIF_DIR / "github-rules.xml"
MULTITOOL_VERSION = "5.7.0"
TOOLS = ROOT / ".test-tools"
MULTITOOL = TOOLS / "sarif-multitool" / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"

SCHEMA_URIS = frozenset({
    "https://json.schemastore.org/sarif-2.1.0.json",
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
})
# GitHub's documented upload limits (docs.github.com, "SARIF support for code scanning").
MAX_RUNS_PER_FILE = 20
MAX_RESULTS_PER_RUN = 25_000
MAX_RULES_PER_RUN = 25_000
MAX_TAGS_PER_RULE = 20
MAX_LOCATIONS_PER_RESULT = 1_000
MAX_DESCRIPTION_CHARS = 1_024


class MultitoolSkipped(UserWarning):
    """The Multitool layer did not run (no npm on this machine)."""


@cache
def _schema_validator() -> Any:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def schema_problems(doc: Any) -> list[str]:
    """Every place where `doc` breaks the OASIS schema, as 'json/path: message'."""
    errors = sorted(_schema_validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return ["/".join(map(str, e.absolute_path)) + ": " + e.message[:200] for e in errors]


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _rule_problems(at: str, rules: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    ids = [r.get("id") for r in rules]
    if len(ids) != len(set(ids)):
        out.append(f"{at}: rule ids repeat")
    if len(rules) > MAX_RULES_PER_RUN:
        out.append(f"{at}: {len(rules)} rules, over GitHub's {MAX_RULES_PER_RUN}")
    for rule in rules:
        rid = rule.get("id", "?")
        for key in ("shortDescription", "fullDescription"):
            text = _obj(rule.get(key)).get("text")
            if not isinstance(text, str) or not text.strip():
                out.append(f"{at} rule {rid}: {key}.text is empty (GitHub shows it as the alert's title)")
            elif len(text) > MAX_DESCRIPTION_CHARS:
                out.append(f"{at} rule {rid}: {key}.text has {len(text)} characters, over {MAX_DESCRIPTION_CHARS}")
        if not _obj(rule.get("help")).get("text"):
            out.append(f"{at} rule {rid}: help.text is empty")
        level = _obj(rule.get("defaultConfiguration")).get("level")
        if level not in ("error", "warning", "note"):
            out.append(f"{at} rule {rid}: defaultConfiguration.level must be explicit")
        props = _obj(rule.get("properties"))
        if len(_list(props.get("tags"))) > MAX_TAGS_PER_RULE:
            out.append(f"{at} rule {rid}: more than {MAX_TAGS_PER_RULE} tags")
        if "security-severity" in props:
            out.append(f"{at} rule {rid}: security-severity set (these are not security alerts)")
    return out


def _location_problems(where: str, location: dict[str, Any]) -> list[str]:
    out: list[str] = []
    physical = _obj(location.get("physicalLocation"))
    artifact = _obj(physical.get("artifactLocation"))
    uri = artifact.get("uri")
    if not isinstance(uri, str) or not uri:
        return [f"{where}: artifactLocation.uri is missing"]
    parsed = urlparse(uri)
    if parsed.scheme or uri.startswith("/") or ".." in PurePosixPath(parsed.path).parts or "\\" in uri:
        out.append(f"{where}: uri {uri!r} is not a relative POSIX path inside the repository")
    if artifact.get("uriBaseId") != "%SRCROOT%":
        out.append(f"{where}: uriBaseId must be %SRCROOT%")
    start = _obj(physical.get("region")).get("startLine")
    if not isinstance(start, int) or isinstance(start, bool) or start < 1:
        out.append(f"{where}: region.startLine must be an integer >= 1")
    return out


def _result_problems(where: str, result: dict[str, Any], rules: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    rid = result.get("ruleId")
    ids = [r.get("id") for r in rules]
    if rid not in ids:
        out.append(f"{where}: ruleId {rid!r} is not a rule of tool.driver.rules")
    index = result.get("ruleIndex")
    if index is not None and (not isinstance(index, int) or not 0 <= index < len(rules) or ids[index] != rid):
        out.append(f"{where}: ruleIndex {index!r} does not point at rule {rid!r}")
    if result.get("level") not in ("error", "warning", "note"):
        out.append(f"{where}: level must be written explicitly (GitHub's default differs from SARIF's)")
    text = _obj(result.get("message")).get("text")
    if not isinstance(text, str) or not text.strip():
        out.append(f"{where}: message.text is empty")
    locations = _list(result.get("locations"))
    if not locations:
        out.append(f"{where}: no location (GitHub rejects the whole upload)")
    elif len(locations) > MAX_LOCATIONS_PER_RESULT:
        out.append(f"{where}: more than {MAX_LOCATIONS_PER_RESULT} locations")
    for location in locations[:1]:
        out += _location_problems(where, _obj(location))
    fingerprints = _obj(result.get("partialFingerprints"))
    if not fingerprints or not all(isinstance(v, str) and v for v in fingerprints.values()):
        out.append(f"{where}: partialFingerprints missing (GitHub would compute its own from the line)")
    return out


def github_problems(doc: Any) -> list[str]:
    """The GitHub code-scanning ingestion rules this project relies on (our own reading of GitHub's docs)."""
    doc = _obj(doc)
    out: list[str] = []
    if doc.get("version") != "2.1.0":
        out.append("version must be 2.1.0")
    if doc.get("$schema") not in SCHEMA_URIS:
        out.append(f"$schema must be one of {sorted(SCHEMA_URIS)}")
    runs = _list(doc.get("runs"))
    if not runs:
        return [*out, "runs must be a non-empty list"]
    if len(runs) > MAX_RUNS_PER_FILE:
        out.append(f"{len(runs)} runs, over GitHub's {MAX_RUNS_PER_FILE}")
    categories = [_obj(_obj(run).get("automationDetails")).get("id") for run in runs]
    if len(categories) != len(set(categories)):
        out.append("two runs share a category (automationDetails.id): GitHub keeps only one per tool and category")
    for r, run in enumerate(map(_obj, runs)):
        at = f"runs[{r}]"
        driver = _obj(_obj(run.get("tool")).get("driver"))
        if not driver.get("name"):
            out.append(f"{at}: tool.driver.name is missing")
        rules = [_obj(rule) for rule in _list(driver.get("rules"))]
        out += _rule_problems(at, rules)
        results = run.get("results")
        if not isinstance(results, list):
            out.append(f"{at}: results is missing (write [] when there are none)")
            continue
        if len(results) > MAX_RESULTS_PER_RUN:
            out.append(f"{at}: {len(results)} results, over GitHub's {MAX_RESULTS_PER_RUN}")
        for i, result in enumerate(results):
            out += _result_problems(f"{at}.results[{i}]", _obj(result), rules)
        for n, invocation in enumerate(_list(run.get("invocations"))):
            if not isinstance(_obj(invocation).get("executionSuccessful"), bool):
                out.append(f"{at}.invocations[{n}]: executionSuccessful must be set")
    return out


def _install_multitool() -> str | None:
    """None when the Multitool is ready, else why it cannot run here."""
    if MULTITOOL.exists():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed: the SARIF Multitool layer (an npm package) cannot run"
    prefix = MULTITOOL.parents[3]
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--no-save",
                           f"@microsoft/sarif-multitool@{MULTITOOL_VERSION}"], capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0 or not MULTITOOL.exists():
        raise AssertionError(f"npm could not install @microsoft/sarif-multitool: {done.stderr[-500:]}")
    return None


def multitool_problems(path: Path) -> list[str] | None:
    """The Multitool's errors on `path` (GitHub rules as errors); None when the layer cannot run here."""
    why_not = _install_multitool()
    if why_not is not None:
        if os.environ.get("MLSTABLINT_REQUIRE_MULTITOOL") == "1":
            raise AssertionError(f"{why_not}, and MLSTABLINT_REQUIRE_MULTITOOL=1 requires it")
        warnings.warn(f"SARIF Multitool layer skipped: {why_not}", MultitoolSkipped, stacklevel=3)
        return None
    log_path = path.with_name(path.name + ".multitool.sarif")
    env = dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1", DOTNET_CLI_TELEMETRY_OPTOUT="1")
    done = subprocess.run([str(MULTITOOL), "validate", str(path), "--config", str(GITHUB_RULES),
                           "--rule-kind", "Sarif;Ghas", "--level", "Error;Warning", "--output", str(log_path),
                           "--log", "ForceOverwrite"], capture_output=True, text=True, env=env, timeout=300)
    if not log_path.exists():
        raise AssertionError(f"the Multitool wrote no log: {done.stdout[-300:]} {done.stderr[-300:]}")
    log = json.loads(log_path.read_text(encoding="utf-8-sig"))
    log_path.unlink()
    problems = []
    for run in _list(log.get("runs")):
        for result in _list(_obj(run).get("results")):
            if _obj(result).get("level") == "error":
                message = _obj(result.get("message"))
                text = message.get("text") or f"{message.get('id', '')} {message.get('arguments', [])}"
                problems.append(f"{result.get('ruleId')}: {str(text)[:200]}")
    return problems


def validate(*files: Path) -> None:
    """Every layer must pass on every file; the assertion message lists what failed where."""
    failures: list[str] = []
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        layers: list[tuple[str, list[str] | None]] = [
            ("schema", schema_problems(doc)), ("github", github_problems(doc)), ("multitool", multitool_problems(path))]
        for layer, problems in layers:
            failures += [f"{path} [{layer}]: {p}" for p in problems or ()]
    assert not failures, "\n".join(failures)
