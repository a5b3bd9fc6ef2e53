"""Throughput of the Python API and of tenet.spark in local mode on one JSONL export.

    python python/benches/throughput.py target/bench-data/bulk.jsonl \
        -p benches/workload/six-rules.tenet [--spark] [--repeat 3]

Prints, for each way of checking the file, the best wall time of --repeat runs, tenants
per second and MB per second. Compare with the CLI on the same file:
    tenet check -p benches/workload/six-rules.tenet FILE --format jsonl --now ... > /dev/null
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import tenet

NOW = "2026-11-22T00:00:00Z"


def best(label: str, runs: int, size: int, tenants: int, fn) -> None:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    t = min(times)
    print(f"{label:<44} {t:7.2f} s  {tenants / t:9.0f} tenants/s  {size / t / 1e6:7.1f} MB/s   ({out})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("-p", "--policy", action="append", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--spark", action="store_true")
    ap.add_argument("--no-api", action="store_true")
    args = ap.parse_args()
    path = pathlib.Path(args.file)
    size = path.stat().st_size
    with path.open("rb") as f:
        tenants = sum(1 for line in f if line.strip())
    engine = tenet.Engine(args.policy, now=NOW)
    print(f"{path}: {size / 1e6:.0f} MB, {tenants} tenants, {engine.jobs} threads")

    if not args.no_api:
        best("check_jsonl(path)", args.repeat, size, tenants, lambda: len(engine.check_jsonl(path)))
        best("check_jsonl(path).findings (dicts)", args.repeat, size, tenants,
             lambda: len(engine.check_jsonl(path).findings))
        best("check_jsonl(path, as_arrow=True)", args.repeat, size, tenants,
             lambda: engine.check_jsonl(path, as_arrow=True).num_rows)
        lines = path.read_bytes().splitlines()
        best("check_many(lines as bytes)", args.repeat, size, tenants, lambda: len(engine.check_many(lines)))
        docs = [json.loads(line) for line in lines[: max(1, len(lines) // 10)]]
        part = sum(len(line) for line in lines[: len(docs)])
        best(f"check_many({len(docs)} dicts)", args.repeat, part, len(docs), lambda: len(engine.check_many(docs)))
        del lines, docs

    if args.spark:
        from pyspark.sql import SparkSession

        from tenet import spark as tenet_spark

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        start = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.memory", "2g")
            .getOrCreate()
        )
        spark.range(1).count()
        print(f"{'Spark session start (local[2])':<44} {time.perf_counter() - start:7.2f} s", flush=True)

        def spark_count() -> int:
            df = spark.read.text(str(path.resolve()))
            return tenet_spark.check(df, args.policy, now=NOW).count()

        def spark_write() -> str:
            df = spark.read.text(str(path.resolve()))
            tenet_spark.check(df, args.policy, now=NOW).write.format("noop").mode("overwrite").save()
            return "noop write"

        best("spark local[2]: check(...).count()", args.repeat, size, tenants, spark_count)
        best("spark local[2]: check(...) written (noop)", args.repeat, size, tenants, spark_write)
        spark.stop()


if __name__ == "__main__":
    main()
