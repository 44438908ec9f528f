"""One SparkSession per process, created on first use, configured by mesh.yaml or the environment.

.. code-block:: yaml

    engine:
      spark:
        master: spark://spark-master:7077    # default local[*]; or
        remote: sc://spark-connect:15002     # a Spark Connect endpoint
        config: {spark.executor.memory: 8g}
        jars: [/opt/jdbc/postgresql.jar]     # default: the JDBC drivers in /usr/share/java

``$MESHLAB_SPARK_MASTER`` and ``$MESHLAB_SPARK_REMOTE`` take precedence over
mesh.yaml (the machine you run on knows its cluster), ``$MESHLAB_SPARK_JARS``
(comma separated) over ``jars``.

Starting Spark costs seconds, so the first session is kept and shared by every
mesh of the process; a later, different configuration does not restart it
(:func:`stop_spark_session` does).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshlab.errors import DescriptorError, EngineError
from meshlab.sources.spi import SourceKind, server_kinds

log = logging.getLogger("meshlab.engine.spark")

JAR_FOLDERS = ("/usr/share/java",)
LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")


@dataclass(frozen=True)
class SparkSettings:
    """Where Spark runs and how it is configured (``engine: {spark: ...}`` in mesh.yaml)."""

    master: str | None = None
    remote: str | None = None
    config: tuple[tuple[str, str], ...] = ()
    jars: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Any, source: str = "mesh.yaml") -> SparkSettings:
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise DescriptorError(source, "spark settings must be a mapping", "engine.spark")
        config = raw.get("config") or {}
        if not isinstance(config, Mapping):
            raise DescriptorError(source, "config must map Spark properties to values", "engine.spark.config")
        jars = raw.get("jars") or ()
        if isinstance(jars, str):
            jars = [jars]
        return cls(
            master=raw.get("master"),
            remote=raw.get("remote"),
            config=tuple((str(k), str(v)) for k, v in config.items()),
            jars=tuple(str(j) for j in jars),
        )

    def effective(self) -> SparkSettings:
        """These settings with the environment's overrides applied."""
        master = os.environ.get("MESHLAB_SPARK_MASTER") or self.master
        remote = os.environ.get("MESHLAB_SPARK_REMOTE") or (
            None if os.environ.get("MESHLAB_SPARK_MASTER") else self.remote
        )
        jars = tuple(j for j in os.environ.get("MESHLAB_SPARK_JARS", "").split(",") if j) or self.jars
        return SparkSettings(master, remote, self.config, jars)

    @property
    def is_local(self) -> bool:
        return self.remote is None and (self.master or "local[*]").startswith("local")


def jdbc_jars() -> dict[str, tuple[str, ...]]:
    """Source kind -> the JDBC jar file names Spark reads it with (each kind says, :attr:`SourceKind.spark_jars`)."""
    return {k.name: k.spark_jars for k in server_kinds() if isinstance(k, SourceKind) and k.spark_jars}


def jdbc_jar(kind: str, settings: SparkSettings) -> str | None:
    """The JDBC driver jar for source kind ``kind``: configured, else found in /usr/share/java."""
    names = jdbc_jars().get(kind, ())
    for jar in settings.jars:
        if Path(jar).name in names or kind in Path(jar).name:
            return jar
    for folder in JAR_FOLDERS:
        for name in names:
            if (Path(folder) / name).is_file():
                return str(Path(folder) / name)
    return None


def _default_config(settings: SparkSettings) -> dict[str, str]:
    config = {"spark.app.name": "meshlab", "spark.sql.session.timeZone": "UTC"}
    if settings.remote is not None:
        return config  # a Connect server has its own configuration and jars
    jars = [j for j in (jdbc_jar(kind, settings) for kind in jdbc_jars()) if j]
    jars += [j for j in settings.jars if j not in jars]
    if jars:
        config["spark.jars"] = ",".join(jars)
    config["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}"
    config["spark.ui.showConsoleProgress"] = "false"  # progress bars would land in notebooks' stderr
    if settings.is_local:
        cores = os.cpu_count() or 2
        config.update(
            {
                "spark.ui.enabled": "false",
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                # Spark's default of 200 shuffle partitions is for clusters; a few per core here.
                "spark.sql.shuffle.partitions": str(2 * cores),
                "spark.driver.memory": "2g",
            }
        )
    return config


def spark_log_path() -> Path:
    """Where the driver JVM of this process writes its own output (its stderr)."""
    return Path(tempfile.gettempdir()) / f"meshlab-spark-{os.getpid()}.log"


def _launch_quietly(builder):
    """Start the driver JVM with its stderr in :func:`spark_log_path`.

    The JVM inherits this process's stderr, which Jupyter kernels forward into the
    notebook: its start-up warnings would land in the first Spark cell's output.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(spark_log_path(), "ab") as log:
            os.dup2(log.fileno(), 2)
            return builder.getOrCreate()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _build(settings: SparkSettings):
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError("the spark engine needs PySpark: pip install 'meshlab[spark]'") from exc
    # Python workers (if Spark ever needs one) must run this interpreter.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    if settings.remote is not None:
        builder = builder.remote(settings.remote)
    else:
        builder = builder.master(settings.master or "local[*]")
    for key, value in {**_default_config(settings), **dict(settings.config)}.items():
        builder = builder.config(key, value)
    where = settings.remote or settings.master or "local[*]"
    try:
        session = builder.getOrCreate() if settings.remote is not None else _launch_quietly(builder)
    except Exception as exc:  # noqa: BLE001 - Java missing, bad master URL, Connect deps missing...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EngineError(
            f"cannot start Spark on {where}: {first} (Java 17+ and PySpark 4 are needed; "
            f"the JVM's output is in {spark_log_path()})"
        ) from exc
    if settings.remote is None:
        session.sparkContext.setLogLevel("ERROR")
    _quiet_python_loggers()
    log.info("Spark %s session on %s", session.version, where)
    return session


def _quiet_python_loggers() -> None:
    """PySpark logs every query error it raises as JSON on stderr; meshlab reports them itself."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


_session = None
_session_lock = threading.Lock()


def _alive(session) -> bool:
    if getattr(session, "is_stopped", False):
        return False
    context = getattr(session, "_sc", None)
    return context is None or getattr(context, "_jsc", None) is not None


def spark_session(settings: SparkSettings | None = None):
    """The process's SparkSession, started with ``settings`` on first use."""
    global _session
    with _session_lock:
        if _session is None or not _alive(_session):
            _session = _build((settings or SparkSettings()).effective())
        return _session


def stop_spark_session() -> None:
    """Stop the shared session (the next Spark query starts a new one)."""
    global _session
    with _session_lock:
        if _session is not None:
            _session.stop()
            _session = None


def is_connect(session) -> bool:
    """Whether ``session`` talks to a Spark Connect server (no JVM in this process)."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def has_jvm_class(session, name: str) -> bool:
    """Whether the driver's JVM can load class ``name`` (False on Spark Connect)."""
    if is_connect(session):
        return False
    try:
        # The context loader sees spark.jars too, not only the JVM's class path.
        loader = session.sparkContext._jvm.java.lang.Thread.currentThread().getContextClassLoader()
        loader.loadClass(name)
        return True
    except Exception:  # noqa: BLE001 - py4j wraps ClassNotFoundException
        return False
