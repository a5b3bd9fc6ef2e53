"""Apache Spark: check a DataFrame of tenant documents, one document per row.

    from pyspark.sql import SparkSession
    import tenet.spark

    spark = SparkSession.builder.getOrCreate()
    exports = spark.read.text("s3://bucket/exports/*.jsonl")      # one tenant per line
    findings = tenet.spark.check(exports, "policies", now="2026-11-22T00:00:00Z")
    findings.groupBy("rule", "severity").count().show()

The policies are compiled on the driver first (a policy mistake raises PolicyError there,
before any task runs); their text, not their paths, is sent to the executors, where each
Python worker process compiles them once and reuses the engine for every task. Rows are
evaluated by `mapInArrow`, a batch of rows at a time, with the GIL released.

The executors need this package installed (see docs/PYTHON.md: a wheel on every node, or
`spark.archives` with a packed environment).
"""

from __future__ import annotations

import datetime
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

from . import Engine, _arrow

__all__ = ["check", "schema_ddl"]


def schema_ddl() -> str:
    """The schema of the findings DataFrame, as a Spark DDL string: the JSON report's
    fields, `subject` a struct and `evidence` its JSON text."""
    return _arrow.spark_ddl()


def _file_path(df: Any) -> Any:
    """The `_metadata.file_path` column of a DataFrame read from files, or null."""
    from pyspark.sql import functions as F

    try:
        df.select(F.col("_metadata.file_path"))
        return F.col("_metadata.file_path")
    except Exception:
        return F.lit(None).cast("string")


def check(
    df: Any,
    policies: Union[str, Any, Mapping[str, str], Sequence[Any]],
    column: str = "value",
    *,
    source_column: Optional[str] = None,
    model: Optional[Any] = None,
    params: Optional[Mapping[str, Any]] = None,
    now: Optional[Union[str, datetime.datetime]] = None,
    rules: Optional[Union[str, Sequence[str]]] = None,
    jobs: Optional[int] = 1,
) -> Any:
    """Checks every tenant of `df` and returns a DataFrame of findings.

    df             a DataFrame with one tenant document (JSON or YAML text) per row in
                   `column`, e.g. `spark.read.text("exports/*.jsonl")`; blank and null
                   rows are skipped, as blank lines of a JSONL file are.
    policies, model, params, rules
                   as for tenet.Engine; paths are read on the driver.
    now            the evaluation instant; None means the driver's current time, fixed
                   once so that every executor uses the same instant.
    source_column  a column naming each row's source (its file, say); by default the
                   file the row was read from (`_metadata.file_path`) when `df` was read
                   from files, else null. It becomes the findings' `source`, and the
                   `tenant` of a tenant without `id`.
    jobs           threads per task (default 1: Spark already runs one task per core).

    The result has the JSON report's columns (`schema_ddl()`), one row per finding; a
    row that cannot be read gives an `input` finding instead of failing the job.
    """
    from pyspark.sql import functions as F

    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    engine = Engine(policies, model=model, params=params, now=now, rules=rules, jobs=jobs)
    source = F.col(source_column).cast("string") if source_column is not None else _file_path(df)
    rows = df.select(F.col(column).cast("string").alias("document"), source.alias("source"))

    def evaluate(batches: Iterator[Any]) -> Iterator[Any]:
        # `engine` arrives pickled as its spec; unpickling it compiles the policies once
        # per Python worker process (tenet._convert.restore_engine keeps it).
        for batch in batches:
            report = engine._check_rows(batch.column(0).to_pylist(), batch.column(1).to_pylist())
            if len(report):
                yield _arrow.record_batch(report.columns())

    return rows.mapInArrow(evaluate, schema_ddl())
