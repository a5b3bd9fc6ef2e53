"""tenet.spark in Spark local mode: the findings are, as a multiset, those of
`tenet check --format jsonl` over the same files.

Needs pyspark and a Java runtime; skipped without pyspark unless TENET_REQUIRE_SPARK=1
(CI sets it, so that a broken install fails instead of skipping)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable

import pytest

import tenet
from conftest import NOW, REPO, run_cli

if not os.environ.get("TENET_REQUIRE_SPARK"):
    pytest.importorskip("pyspark")
import tenet.spark  # noqa: E402

POLICIES = ["policies", "benches/workload/six-rules.tenet"]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # Local mode talks to itself only: on the loopback interface.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers run this interpreter (the one with tenet installed), not `python3`.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("tenet-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        # Small input splits: files are cut into several partitions, mid-file.
        .config("spark.sql.files.maxPartitionBytes", str(1 << 20))
        .getOrCreate()
    )
    yield session
    session.stop()


def _key(f: Dict[str, Any]) -> str:
    """A finding as comparable text: absent optional fields dropped, the source by file name
    (Spark names files by URI)."""
    # Spark rows have no file, so no `location`; the CLI's findings point into the file.
    f = {k: v for k, v in f.items() if v is not None and k != "location"}
    if isinstance(f.get("see"), str):
        f["see"] = json.loads(f["see"])
    if f.get("source"):
        f["source"] = Path(f["source"]).name
    return json.dumps(f, sort_keys=True)


def _spark_findings(df) -> Counter:
    out = Counter()
    for row in df.collect():
        f = row.asDict(recursive=True)
        if f.get("evidence") is not None:
            f["evidence"] = json.loads(f["evidence"])
        out[_key(f)] += 1
    return out


def _cli_findings(findings: Iterable[Dict[str, Any]]) -> Counter:
    return Counter(_key(f) for f in findings)


def test_the_shipped_bulk_export(spark, tenet_bin):
    path = "examples/tenants/bulk-export.jsonl"
    df = spark.read.text(str(REPO / path))
    found = tenet.spark.check(df, POLICIES, now=NOW)
    expected, _ = run_cli(tenet_bin, *[a for p in POLICIES for a in ("-p", p)], path, "--now", NOW)
    assert expected
    assert _spark_findings(found) == _cli_findings(expected)


def test_a_generated_export_of_thousands_of_tenants(spark, tenet_bin, gen_bin, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    # Three files of 1,000 tenants each (with different seeds), 20 users a tenant.
    for i in range(3):
        subprocess.run(
            [str(gen_bin), "bulk", "1000", "20", str(exports / f"day{i}.jsonl"), "--seed", str(100 + i)],
            check=True, capture_output=True,
        )
    df = spark.read.text(str(exports / "*.jsonl"))
    assert df.rdd.getNumPartitions() > 3, "each file is split"
    found = tenet.spark.check(df, POLICIES, now=NOW)
    expected, summary = run_cli(tenet_bin, *[a for p in POLICIES for a in ("-p", p)], str(exports), "--now", NOW)
    assert summary["tenants"] == 3000 and len(expected) > 3000
    assert _spark_findings(found) == _cli_findings(expected)


def test_unreadable_rows_are_input_findings(spark):
    good = (REPO / "examples/tenants/netsuite-globex.json").read_text()
    df = spark.createDataFrame(
        [("{not json", "a"), ("", "b"), (None, "c"), (good, "d"), ("[1, 2]", "e")], "doc string, src string"
    )
    rows = tenet.spark.check(df, "policies", column="doc", source_column="src", now=NOW).collect()
    inputs = sorted(r["tenant"] for r in rows if r["rule"] == "input")
    assert inputs == ["a", "e"]
    direct = tenet.Engine("policies", now=NOW).check(good, source="d").findings
    assert sorted(_key(r.asDict(recursive=True) | {"evidence": None}) for r in rows if r["source"] == "d") == sorted(
        _key(f | {"evidence": None}) for f in direct
    )


def test_policy_mistakes_raise_on_the_driver(spark):
    df = spark.createDataFrame([("{}",)], "value string")
    with pytest.raises(tenet.PolicyError):
        tenet.spark.check(df, 'policy "p"\nrule r: user.nope == 1\n')


def test_the_schema_is_the_report_columns():
    ddl = tenet.spark.schema_ddl()
    assert ddl.startswith("`tenant` STRING, `source` STRING, `policy` STRING")
    assert "`subject` STRUCT<`kind`: STRING, `id`: STRING, `path`: STRING>" in ddl
    # The JSON report's fields in its order; lists and objects other than the subject
    # (`see`, `evidence`, `location`) are JSON text.
    for column in ("`message` STRING", "`see` STRING", "`evidence` STRING", "`location` STRING"):
        assert column in ddl, column
    assert ddl.index("`message`") < ddl.index("`see`") < ddl.index("`evidence`") < ddl.index("`location`")
