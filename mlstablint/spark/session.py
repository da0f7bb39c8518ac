"""Find or start the SparkSession the audit runs on, after checking that pyspark and Java are there.

An active session (a notebook's, or spark-submit's) is used as it is; so is Spark Connect when
SPARK_REMOTE is set. Otherwise a session is started on `master` (default `local[*]`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL_HINT = "pip install 'mlstablint[spark]'"
DEFAULT_MASTER = "local[*]"


class SparkUnavailable(Exception):
    """pyspark or Java is missing or too old: a one-line message, exit 2."""


def require_pyspark() -> str:
    """pyspark's version, or SparkUnavailable saying how to install it."""
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailable(f"the Spark engine needs pyspark: {INSTALL_HINT}") from None
    return str(pyspark.__version__)


def java_major(java: str) -> int | None:
    """The major version `java -version` reports (8 for 1.8), or None when it cannot be run or read."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def require_java(pyspark_version: str) -> None:
    """Spark 4 runs on Java 17 or later (Spark 3.5 on 8 or later): the java of JAVA_HOME, else on PATH."""
    needed = 17 if int(pyspark_version.split(".")[0]) >= 4 else 8
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    where = f"JAVA_HOME={home}" if home else "PATH"
    if java is None or not os.path.exists(java):
        raise SparkUnavailable(f"the Spark engine needs Java {needed} or later, and none was found on {where}: "
                               f"install a JDK and set JAVA_HOME")
    major = java_major(java)
    if major is None or major < needed:
        found = f"Java {major}" if major is not None else "a java that does not report its version"
        raise SparkUnavailable(f"pyspark {pyspark_version} needs Java {needed} or later, and {java} is {found}: "
                               f"install a newer JDK and set JAVA_HOME")


def get_session(master: str | None = None) -> SparkSession:
    """The active session if there is one, else Spark Connect (SPARK_REMOTE), else a new one on `master`."""
    version = require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName("mlstablint")
    if os.environ.get("SPARK_REMOTE") and master is None:
        return builder.getOrCreate()
    launched = "PYSPARK_GATEWAY_PORT" in os.environ  # under spark-submit, the JVM is there already
    if not launched:
        require_java(version)
    if master is not None or not launched:
        master = master or DEFAULT_MASTER
        if master.startswith("local"):  # the workers are this machine's: they need this interpreter's packages
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.master(master).config("spark.ui.enabled", "false")
    return builder.getOrCreate()
