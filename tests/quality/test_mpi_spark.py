"""The MPI scan on Spark (local mode) gives the same pairs as on DuckDB.

One Spark session for the module, set up for small data (one shuffle partition, no code
generation, no adaptive re-planning: Spark's start-up costs, not its throughput, are what a
few thousand records meet). The Spark tests skip without pyspark or Java; the command-line
checks of `--engine` run everywhere.
"""

from __future__ import annotations

import shutil

import pytest

from chartkeeper.cli import main
from chartkeeper.quality.mpi import scan
from chartkeeper.quality.mpi.generate import registrations
from chartkeeper.quality.mpi.scan import database_api

SMALL_DATA = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
}


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark", minversion="4.0")
    if not shutil.which("java"):
        pytest.skip("no Java runtime for Spark")
    from chartkeeper.quality.mpi.spark import session

    spark = session("local[2]", shuffle_partitions=1, conf=SMALL_DATA)
    yield spark
    spark.stop()


@pytest.mark.slow
def test_spark_scan_gives_the_same_pairs_as_duckdb(spark):
    """A fixed set: 300 people, 100 of them registered twice or more with errors (plus the
    small-store company every scan of under 2,000 records trains with). Spark's pairs,
    decisions and comparison levels are DuckDB's, and its probabilities too (equal here;
    the order of floating-point sums may differ)."""
    from chartkeeper.quality.mpi.spark import spark_api

    records, truth = registrations(300, 100, seed=11)
    duck = {(p.a, p.b): p for p in scan(records)}
    on_spark = {(p.a, p.b): p for p in scan(records, db_api=spark_api(spark_session=spark))}

    assert sorted(on_spark) == sorted(duck)
    assert {k: p.decision for k, p in on_spark.items()} == {k: p.decision for k, p in duck.items()}
    for key, p in duck.items():
        assert on_spark[key].probability == pytest.approx(p.probability, abs=1e-4), key
        levels = {c: e["level"] for c, e in p.evidence.get("comparisons", {}).items()}
        theirs = on_spark[key].evidence.get("comparisons", {})
        assert {c: e["level"] for c, e in theirs.items()} == levels, key
    # not a vacuous match: the set's duplicates are found, on both
    linked = {tuple(sorted(k)) for k, p in duck.items() if p.decision == "link"}
    true_pairs = {(f"Patient/{a}", f"Patient/{b}") for a, b in truth.pairs()}
    assert len(linked & true_pairs) >= 0.9 * len(true_pairs) > 50


def test_sample_filters_bucket_ids_as_duckdb():
    """Splink's Spark sample filters (u's records, a large store's EM sample) hash ids with
    Spark's hash; the backend rewrites them to DuckDB's bucket. Splink writing them otherwise
    would leave the rewrite silently idle, and the engines training on different samples."""
    from splink.internals.dialects import SparkDialect
    from splink.internals.em_sampling import _em_sample_filter_sql
    from splink.internals.input_column import InputColumn

    from chartkeeper.quality.mpi.spark import duckdb_sampling

    dialect = SparkDialect()
    uid = [InputColumn("id", sqlglot_dialect_str="spark")]
    u_sample = "SELECT * FROM t WHERE 1 = 1" + dialect.proportion_sample_sql(0.1, uid, seed=1)
    em_sample = "SELECT * FROM l JOIN r ON l.a = r.a WHERE l.id < r.id" + "".join(
        _em_sample_filter_sql(uid, 10, 1000, side, dialect) for side in ("l", "r")
    )
    for sql in (u_sample, em_sample):
        out = duckdb_sampling(sql).lower()
        assert "hash(" not in out.replace("duckdb_hash_bucket(", ""), out
        assert "duckdb_hash_bucket(cast(" in out, out
    assert duckdb_sampling("SELECT a FROM t") == "SELECT a FROM t"


def test_duckdb_is_the_default_engine():
    assert database_api() is None
    with pytest.raises(ValueError, match="one of duckdb, spark"):
        database_api("postgres")
    with pytest.raises(ValueError, match="Spark engine"):
        database_api("duckdb", spark_master="local[2]")


def _usage_error(args, capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        main(args)
    captured = capsys.readouterr()
    assert exited.value.code == 2, captured
    assert "Traceback" not in captured.err + captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), captured.err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--engine", "postgres"], "--engine"),
        (["--spark-master", "local[2]"], "--spark-master"),
        (["--engine", "spark", "--spark-master", "http://x"], "--spark-master"),
    ],
)
def test_bad_engine_options_are_usage_errors(args, names, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    line = _usage_error(["mpi", "scan", *args, "--data-dir", str(tmp_path)], capsys)
    assert names in line, line


def test_spark_without_pyspark_or_java_is_one_line(capsys, tmp_path, monkeypatch):
    """Before any work: no store opened, no session started."""
    from chartkeeper.quality.mpi import spark

    monkeypatch.setenv("COLUMNS", "400")
    args = ["mpi", "scan", "--engine", "spark", "--data-dir", str(tmp_path / "d")]
    monkeypatch.setattr(spark, "find_spec", lambda name: None)
    assert "needs pyspark" in _usage_error(args, capsys)
    monkeypatch.undo()

    if spark.find_spec("pyspark") is None:
        pytest.skip("pyspark is missing here in earnest")
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert "needs a Java runtime" in _usage_error(args, capsys)
    assert not (tmp_path / "d").exists()
