"""The Spark engine through Spark Connect: a real Spark Connect server (pyspark's own
`sbin/start-connect-server.sh`, `local[2]` behind it, on a free loopback port), the audit run through
`SPARK_REMOTE=sc://localhost:PORT` by the command line and by the Python API, against the local engine.

The clients run in child processes: a process holds one kind of Spark session, and `test_spark.py`
keeps a classic one in the pytest process. Without pyspark, Java, the Spark Connect server (pyspark
< 4 ships none) or its Python client's packages (grpcio…), the tests skip with the reason, unless
MLSTABLINT_REQUIRE_SPARK=1 (CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli
from tests.test_spark import FEATURES, findings_and_statuses, nan_table, same, write_parquet

REQUIRED = os.environ.get("MLSTABLINT_REQUIRE_SPARK") == "1"
START_TIMEOUT = 240.0  # seconds for the server to listen (JVM start-up on a loaded 2-core machine)
STOP_TIMEOUT = 60.0


def _missing() -> str | None:
    """Why a Spark Connect server cannot be started and reached here, or None."""
    from mlstablint.spark.session import SparkUnavailable, require_java, require_pyspark

    try:
        require_java(require_pyspark())
    except SparkUnavailable as exc:
        return str(exc)
    import pyspark

    home = Path(pyspark.__file__).parent
    if not (home / "sbin" / "start-connect-server.sh").exists() or not list((home / "jars").glob("spark-connect_*.jar")):
        return f"pyspark {pyspark.__version__} ships no Spark Connect server (sbin/start-connect-server.sh and its jar)"
    try:
        from pyspark.sql.connect.utils import check_dependencies

        check_dependencies()
    except ImportError as exc:
        return f"the Spark Connect client needs packages that are not installed: {exc}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`sc://localhost:PORT` of a Spark Connect server on local[2], stopped (its whole process group) after."""
    missing = _missing()
    if missing is not None:
        if REQUIRED:
            pytest.fail(f"MLSTABLINT_REQUIRE_SPARK=1 but {missing}")
        pytest.skip(missing)
    import pyspark

    home = Path(pyspark.__file__).parent
    work = tmp_path_factory.mktemp("spark-connect")
    port = _free_port()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(work), "SPARK_PID_DIR": str(work),
           "PYSPARK_PYTHON": sys.executable}
    env.pop("SPARK_REMOTE", None)
    command = [str(home / "sbin" / "start-connect-server.sh"), "--wait", "--master", "local[2]",
               "--conf", f"spark.connect.grpc.binding.port={port}",
               "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
               "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=4",
               "--conf", f"spark.local.dir={work}", "--driver-memory", "1g"]
    log = (work / "server.out").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _listening(port):
            if server.poll() is not None:
                pytest.fail(f"the Spark Connect server exited ({server.returncode}): {_tail(work)}")
            if time.monotonic() > deadline:
                pytest.fail(f"the Spark Connect server did not listen within {START_TIMEOUT:.0f} s: {_tail(work)}")
            time.sleep(1.0)
        yield f"sc://localhost:{port}"
    finally:
        _stop(server)
        log.close()


def _tail(work: Path) -> str:
    text = "".join(p.read_text(errors="replace") for p in sorted(work.glob("*.out")))
    return text[-3000:]


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (the script, the JVM, its Python workers), SIGKILL after a wait."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            continue


CLIENT = r"""
import json, sys
from pyspark.sql import SparkSession
import mlstablint
from mlstablint.report import render
spark = SparkSession.builder.getOrCreate()
assert type(spark).__module__.startswith("pyspark.sql.connect"), type(spark)
train, test = sys.argv[1], sys.argv[2]
report = mlstablint.audit(spark.read.parquet(train).repartition(3), target="y", test=spark.read.parquet(test),
                          name="train", test_name="test", confirm=False)
document = json.loads(render(report, "json"))
document.pop("dataset", None)  # a DataFrame and a path name the same rows differently
print(json.dumps(document))
"""


def test_cli_through_spark_connect_matches_local(remote: str, tmp_path: Path) -> None:
    path = write_parquet(nan_table(rows=1500), tmp_path / "t.parquet")
    args = ("audit", str(path), "--target", "label", "--features", ",".join(FEATURES), "--format", "json")
    local = run_cli(*args, cwd=tmp_path)
    on_connect = run_cli(*args, "--engine", "spark", cwd=tmp_path, env={"SPARK_REMOTE": remote})
    assert local.returncode == on_connect.returncode == 1, on_connect.stderr[-3000:]
    local_report, local_statuses = findings_and_statuses(local.stdout)
    connect_report, connect_statuses = findings_and_statuses(on_connect.stdout)
    assert {"MSL601", "MSL602", "MSL608"} <= {f["rule"] for f in local_report["findings"]}
    same(local_report, connect_report)
    assert connect_statuses == local_statuses


def test_api_through_spark_connect_with_a_test_table(remote: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    train = pd.DataFrame({"u": rng.normal(0, 1, 3000).round(2), "v": rng.normal(5, 2, 3000).round(2),
                          "w": rng.integers(0, 5, 3000)})
    train["y"] = train["u"] - train["v"] + rng.normal(0, 0.1, 3000)
    fresh = pd.DataFrame({"u": rng.normal(0.8, 1, 1000).round(2), "v": rng.normal(5, 2, 1000).round(2),
                          "w": rng.integers(0, 5, 1000)})
    fresh["y"] = 0.0
    test = pd.concat([fresh, train.iloc[rng.choice(3000, 400, replace=False)]], ignore_index=True)
    train_path = write_parquet(train, tmp_path / "train.parquet")
    test_path = write_parquet(test, tmp_path / "test", parts=2)
    import mlstablint
    from tests.test_spark import as_json

    local = as_json(mlstablint.audit(train_path, target="y", test=test_path, name="train", test_name="test",
                                     confirm=False))
    result = subprocess.run([sys.executable, "-c", CLIENT, str(train_path), str(test_path)], capture_output=True,
                            text=True, timeout=600, cwd=tmp_path, env={**os.environ, "SPARK_REMOTE": remote})
    assert result.returncode == 0, result.stderr[-3000:]
    on_connect = json.loads(result.stdout)
    overlap = {f["rule"]: f["evidence"] for f in local["findings"]}["MSL612"]
    train_rows = set(map(tuple, train[["u", "v", "w"]].to_numpy()))
    assert overlap["overlapping_rows"] == sum(tuple(r) in train_rows for r in test[["u", "v", "w"]].to_numpy())
    same(local, on_connect)
