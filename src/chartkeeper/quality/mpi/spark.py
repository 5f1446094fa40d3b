"""The MPI scan on Spark: a Spark session fit for Splink, and Splink's Spark backend over it.

This module owns what differs between the engines; the model (model.py) and the scan
(scan.py) are the same for both, and give the same pairs on either. It does three things:

- `session(master)`: a Spark session for one machine by default (`local[*]`, every core),
  or the cluster at a master URL, with what Splink needs on it: Splink's jar of string
  similarity UDFs (jaro_winkler, damerau_levenshtein; `SparkAPI` registers them), and, in
  local mode, Python workers that are this interpreter. It is set up for modest data: a
  few shuffle partitions (Spark's 200 are 200 tasks for a handful of rows each), no web UI
  or console progress bars, errors only in the log, its warehouse in a temporary folder.
- `spark_api(master)`: Splink's `SparkAPI` over that session, which takes `prepare_table`'s
  Arrow table as it is (`createDataFrame` reads Arrow on Spark 4). Splink's tables are cut
  from their lineage as they are made (a local checkpoint: in memory, spilling to disk):
  with lineage kept, every EM iteration re-plans the whole pipeline from the input records,
  and Spark spends tens of seconds planning each query.
- DuckDB's functions where Spark's differ, so that both engines train on the same pairs
  and put every pair on the same levels: the same model, and the same links. Splink picks
  the records whose random pairs estimate u (and a large store's EM sample) by a hash
  bucket of each record's id, and Spark's hash is not DuckDB's: Spark would learn other u
  values from other pairs (a quarter of a probability apart on a small set). And the
  Jaro-Winkler of Splink's jar is not the textbook Jaro's (DuckDB's, jellyfish's): it
  scores ADLER/DEANNA 0.53, not 0.59, and a few name pairs in a thousand land on the
  other side of a level's threshold. Both are computed by DuckDB itself on Spark, as
  pandas UDFs (Arrow batches into DuckDB): `duckdb_hash_bucket`, which the sample filters
  are rewritten to use (`duckdb_sampling`), and `jaro_winkler`, which replaces the jar's.
  The jar's Damerau-Levenshtein agrees with DuckDB's and stays.

pyspark is an optional extra (`pip install 'chartkeeper[spark]'`) and Spark needs a Java
runtime (17 or later); `require()` says in one line which is missing (`SparkUnavailable`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from chartkeeper.errors import ChartkeeperError

LOCAL = "local[*]"
# shuffle partitions: a few per core of one machine; Spark's default of 200 makes
# hundreds of tiny tasks of every join and aggregate on a store's worth of records
SHUFFLE_PARTITIONS = 8
_APP_NAME = "chartkeeper-mpi"
# log4j2: errors only (not Spark's start-up chatter about the host name, native Hadoop
# libraries and the like); the shell loggers at the root's level, or PySpark prints a
# "Setting default log level" notice
_LOG4J = """\
rootLogger.level = error
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.python.name = org.apache.spark.api.python.PythonGatewayServer
logger.python.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
"""
# the UDF that stands in for Spark's hash in Splink's sample filters
_BUCKET_UDF = "duckdb_hash_bucket"


class SparkUnavailable(ChartkeeperError):
    """The Spark engine cannot run here: pyspark or Java is missing."""

    code = "not-supported"


def require() -> None:
    """Raise `SparkUnavailable` unless pyspark (4 or later) and a Java runtime are here."""
    if find_spec("pyspark") is None:
        raise SparkUnavailable("the Spark engine needs pyspark: pip install 'chartkeeper[spark]'")
    from pyspark import __version__

    if int(__version__.split(".", 1)[0]) < 4:
        raise SparkUnavailable(f"the Spark engine needs pyspark 4 or later, not {__version__}")
    home = os.environ.get("JAVA_HOME")
    if not (home and (Path(home) / "bin" / "java").exists()) and not shutil.which("java"):
        raise SparkUnavailable(
            "the Spark engine needs a Java runtime (17 or later): none on PATH or in JAVA_HOME"
        )


@lru_cache(maxsize=1)
def _scratch() -> Path:
    """A folder for the session's log configuration and (empty) warehouse, removed when
    this process ends."""
    path = Path(tempfile.mkdtemp(prefix=f"{_APP_NAME}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    (path / "log4j2.properties").write_text(_LOG4J)
    return path


def session(
    master: str | None = None,
    *,
    shuffle_partitions: int = SHUFFLE_PARTITIONS,
    conf: dict[str, str] | None = None,
):
    """The Spark session the MPI scans on: the active one if there is one for `master` (a
    notebook's, a test's), else a new one (default `local[*]`: every core of this machine).
    `conf`: more Spark settings for a new session."""
    require()
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    active = SparkSession.getActiveSession()
    if active is not None and master in (None, active.sparkContext.master):
        return active
    master = master or LOCAL
    if master.startswith("local"):
        # a local session talks to itself (no need to look up this host's network name),
        # and its Python workers are this interpreter, with its packages (a cluster's
        # workers are the cluster's to set up: PYSPARK_PYTHON, with duckdb on it)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = dict(conf or {})
    log = f"-Dlog4j2.configurationFile=file:{_scratch() / 'log4j2.properties'}"
    settings = {
        "spark.jars": similarity_jar_location(),
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.default.parallelism": str(shuffle_partitions),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(_scratch() / "warehouse"),
    }
    for side in ("driver", "executor"):  # the log configuration, after any options given
        key = f"spark.{side}.extraJavaOptions"
        settings[key] = f"{conf.pop(key, '')} {log}".strip()
    settings.update(conf)
    builder = SparkSession.builder.appName(_APP_NAME).master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_api(master: str | None = None, *, spark_session=None):
    """Splink's Spark backend over `spark_session` (default `session(master)`), with
    DuckDB's sampling and lineage cut (see the module docstring); for `scan(db_api=...)`."""
    spark = spark_session or session(master)
    from pyspark.sql.functions import pandas_udf

    api = _api_class()(spark_session=spark, break_lineage_method="persist")
    # registered after Splink's own UDFs: DuckDB's Jaro-Winkler replaces the jar's
    for name, (sql, kind) in _ON_DUCKDB.items():
        spark.udf.register(name, pandas_udf(_on_duckdb(sql), kind))
    return api


# Spark SQL functions computed by DuckDB (see the module docstring): name -> (DuckDB's SQL
# over the arguments a, b, its Spark type)
_ON_DUCKDB = {
    _BUCKET_UDF: ("hash(a) % b::UBIGINT", "long"),
    "jaro_winkler": ("jaro_winkler_similarity(a, b)", "double"),
}


def _on_duckdb(sql: str):
    """A pandas UDF body: `sql` over a batch of two columns, a and b, run by DuckDB. Made
    in here, not at module level, so that Spark ships it to its workers by value: they
    need duckdb, pandas and pyarrow, not chartkeeper."""

    def run(a, b):
        import duckdb
        import pyarrow as pa

        batch = pa.table({"a": pa.Array.from_pandas(a), "b": pa.Array.from_pandas(b)})
        with duckdb.connect() as con:
            con.register("batch", batch)
            # NULL comes back as NaN, which Spark reads back as NULL
            return con.execute(f"SELECT {sql} AS out FROM batch").fetch_df()["out"]

    return run


def duckdb_sampling(sql: str) -> str:
    """Splink's Spark SQL with each sample filter's hash bucket, `pmod(hash(id), m)`,
    made DuckDB's (`hash(id) % m`, by the UDF `spark_api` registers)."""
    if "pmod(" not in sql.lower():
        return sql
    import sqlglot
    from sqlglot import exp

    def swap(node):
        if (
            isinstance(node, exp.Anonymous)
            and node.name.lower() == "pmod"
            and len(node.expressions) == 2
            and isinstance(hashed := node.expressions[0], exp.Anonymous)
            and hashed.name.lower() == "hash"
            and len(hashed.expressions) == 1
        ):
            value = exp.cast(hashed.expressions[0].copy(), exp.DataType.Type.VARCHAR)
            return exp.func(_BUCKET_UDF, value, node.expressions[1].copy())
        return node

    return sqlglot.parse_one(sql, read="spark").transform(swap).sql(dialect="spark")


@lru_cache(maxsize=1)
def _api_class():
    from splink.backends.spark import SparkAPI

    class ChartkeeperSparkAPI(SparkAPI):
        """`SparkAPI` sampling as DuckDB does, its tables cut from their lineage."""

        def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
            # every statement Splink runs passes here, the EM sample's too (Splink builds
            # that from its stock Spark dialect, not this backend's)
            return super()._setup_for_execute_sql(duckdb_sampling(sql), physical_name)

        def _break_lineage_and_repartition(self, spark_df, templated_name, physical_name):
            out = super()._break_lineage_and_repartition(spark_df, templated_name, physical_name)
            if out.is_cached:  # a table Splink keeps: kept without its lineage
                kept = out.localCheckpoint(eager=True)
                out.unpersist()
                return kept
            return out

    return ChartkeeperSparkAPI
