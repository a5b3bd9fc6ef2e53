"""The Python API gives what `tenet check` gives: compared with the CLI binary's output."""

from __future__ import annotations

import datetime
import json
import pathlib
import pickle
import subprocess
import threading
import time

import pytest

import tenet
from conftest import NOW, REPO, cli_jsonl, run_cli, unlocated

TENANTS = REPO / "examples" / "tenants"
EXAMPLES = sorted(
    p.relative_to(REPO).as_posix() for p in TENANTS.iterdir() if p.suffix in (".json", ".yaml", ".jsonl")
)


@pytest.fixture(scope="module")
def engine() -> tenet.Engine:
    return tenet.Engine("policies", now=NOW)


# --------------------------------------------------------------- same as the CLI


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_file_gives_the_cli_report(engine, tenet_bin, example):
    report = engine.check(pathlib.Path(example))
    cli = cli_jsonl(tenet_bin, "-p", "policies", example, "--now", NOW)
    assert report.to_jsonl() == cli
    findings, summary = run_cli(tenet_bin, "-p", "policies", example, "--now", NOW)
    assert report.findings == findings
    assert report.summary == summary
    assert len(report) == len(findings) and list(report) == findings


def test_the_examples_directory_and_check_many_give_the_cli_report(engine, tenet_bin):
    findings, summary = run_cli(tenet_bin, "-p", "policies", "examples/tenants", "--now", NOW)
    assert findings, "the examples have planted violations"
    assert engine.check(pathlib.Path("examples/tenants")).findings == findings
    many = engine.check_many(pathlib.Path(p) for p in EXAMPLES)
    assert many.findings == findings
    assert many.summary == summary
    assert many.input_errors == 0


def test_check_jsonl_is_the_cli_report(engine, tenet_bin):
    path = "examples/tenants/bulk-export.jsonl"
    assert engine.check_jsonl(path).to_jsonl() == cli_jsonl(tenet_bin, "-p", "policies", path, "--now", NOW)
    assert engine.check_jsonl(pathlib.Path(path)).to_jsonl() == cli_jsonl(
        tenet_bin, "-p", "policies", path, "--now", NOW
    )


def test_dicts_and_text_give_the_findings_of_the_file(engine, tenet_bin):
    for name in ("examples/tenants/netsuite-globex.json", "examples/tenants/erpnext-dirty.json"):
        expected, _ = run_cli(tenet_bin, "-p", "policies", name, "--now", NOW)
        text = (REPO / name).read_text()
        assert engine.check(json.loads(text), source=name).findings == unlocated(expected)
        assert engine.check(text, source=name).findings == expected
        assert engine.check(text.encode(), source=name).findings == expected
        assert engine.check(bytearray(text.encode()), source=name).findings == expected
    yaml_name = "examples/tenants/netsuite-acme.yaml"
    expected, _ = run_cli(tenet_bin, "-p", "policies", yaml_name, "--now", NOW)
    assert engine.check((REPO / yaml_name).read_text(), source=yaml_name).findings == expected


def test_check_many_of_lines_gives_the_jsonl_findings(engine, tenet_bin):
    path = "examples/tenants/bulk-export.jsonl"
    expected, summary = run_cli(tenet_bin, "-p", "policies", path, "--now", NOW)
    lines = (REPO / path).read_text().splitlines()
    report = engine.check_many((json.loads(line) for line in lines if line.strip()), source=path)
    assert report.findings == unlocated(expected)  # every tenant has an `id`, so labels do not show
    assert report.summary == summary


def test_parameters_rules_and_jobs_are_the_cli_flags(tenet_bin):
    ex = "examples/tenants"
    e = tenet.Engine("policies", now=NOW, params={"netsuite-2026.1.max_active_certs": 1})
    assert e.check(pathlib.Path(ex)).findings == run_cli(
        tenet_bin, "-p", "policies", ex, "--now", NOW, "--set", "netsuite-2026.1.max_active_certs=1"
    )[0]
    e = tenet.Engine("policies", now=NOW, params={"max_session_expiry": datetime.timedelta(hours=1)})
    assert e.check(pathlib.Path(ex)).findings == run_cli(
        tenet_bin, "-p", "policies", ex, "--now", NOW, "--set", "max_session_expiry=3600s"
    )[0]
    e = tenet.Engine("policies", now=NOW, rules=["max_concurrent_sessions"], jobs=1)
    assert e.jobs == 1
    one = e.check(pathlib.Path(ex)).findings
    assert one and {f["rule"] for f in one} == {"max_concurrent_sessions"}
    assert one == run_cli(tenet_bin, "-p", "policies", ex, "--now", NOW, "--rule", "max_concurrent_sessions")[0]


def test_now_as_datetime_and_inline_policy_text(tenet_bin, tmp_path):
    text = (REPO / "policies" / "netsuite-2026.1.tenet").read_text()
    e = tenet.Engine(text, now=datetime.datetime(2026, 11, 22, tzinfo=datetime.timezone.utc))
    assert e.now == NOW
    got = e.check(pathlib.Path("examples/tenants")).findings
    (tmp_path / "p.tenet").write_text(text)
    want, _ = run_cli(tenet_bin, "-p", str(tmp_path / "p.tenet"), "examples/tenants", "--now", NOW)
    assert got and got == want
    named = tenet.Engine({"mine.tenet": text}, now=NOW)
    assert named.policies[0]["file"] == "mine.tenet"
    yaml_text = (REPO / "policies" / "erpnext-sessions.yaml").read_text()
    both = tenet.Engine([yaml_text, pathlib.Path("policies/netsuite-2026.1.tenet")], now=NOW)
    assert sorted(p["name"] for p in both.policies) == ["erpnext-sessions", "netsuite-2026.1"]


def test_a_model_file_or_text(engine, tenet_bin, tmp_path):
    shown = subprocess.run([str(tenet_bin), "model", "show"], capture_output=True, check=True).stdout.decode()
    (tmp_path / "erp.yaml").write_text(shown)
    want = engine.check(pathlib.Path("examples/tenants")).findings
    for model in (tmp_path / "erp.yaml", str(tmp_path / "erp.yaml"), shown, {"erp.yaml": shown}):
        assert tenet.Engine("policies", model=model, now=NOW).check(pathlib.Path("examples/tenants")).findings == want


def test_an_engine_pickles_as_its_sources_and_is_compiled_once_per_process(engine):
    again = pickle.loads(pickle.dumps(engine))
    assert again.now == engine.now and again.policies == engine.policies
    assert pickle.loads(pickle.dumps(engine)) is again
    ex = pathlib.Path("examples/tenants")
    assert again.check(ex).findings == engine.check(ex).findings


# ------------------------------------------------------------------- bad input


def test_unreadable_tenants_are_input_findings_and_the_batch_goes_on(engine, tenet_bin):
    good = json.loads((REPO / "examples/tenants/netsuite-globex.json").read_text())
    expected, _ = run_cli(tenet_bin, "-p", "policies", "examples/tenants/netsuite-globex.json", "--now", NOW)
    batch = [
        "{not json",
        good,
        b"\xff\xfe not utf-8",
        {"id": "t-set", "users": {1, 2}},
        {"id": "t-nan", "plan": {"seats": float("nan")}},
        "- a list, not a tenant",
        pathlib.Path("examples/tenants/does-not-exist.json"),
        "",
    ]
    report = engine.check_many(batch, source="batch")
    inputs = [f for f in report.findings if f["rule"] == "input"]
    assert [f["tenant"] for f in inputs] == ["batch#1", "batch#3", "batch#4", "batch#5", "batch#6",
                                             "examples/tenants/does-not-exist.json", "batch#8"]
    assert all(f["status"] == "error" and f["severity"] == "error" and f["message"] for f in inputs)
    assert "cannot be encoded as JSON" in inputs[2]["message"]
    assert report.input_errors == 7
    rest = [f for f in report.findings if f["rule"] != "input"]
    assert [{**f, "source": "x"} for f in unlocated(rest)] == [{**f, "source": "x"} for f in unlocated(expected)]
    assert report.summary["tenants"] == 8

    one = engine.check("{not json")
    assert one.input_errors == 1 and one.findings[0]["rule"] == "input"


@pytest.mark.parametrize("bad", [[1, 2], 3, 4.5, None, object(), (1,)])
def test_a_python_object_that_is_no_tenant_is_a_type_error(engine, bad):
    with pytest.raises(TypeError, match="expected a tenant"):
        engine.check(bad)


def test_check_many_wants_an_iterable_of_tenants(engine):
    for bad in (5, "{}", {"id": "t"}, pathlib.Path("x.json"), b"{}"):
        with pytest.raises(TypeError, match="iterable of tenants"):
            engine.check_many(bad)
    with pytest.raises(TypeError, match="expected a tenant.*got int"):
        engine.check_many([{"id": "a"}, 7])
    with pytest.raises(TypeError, match="pathlib.Path"):
        engine.check("examples/tenants/netsuite-acme.yaml")
    with pytest.raises(TypeError):
        engine.check_jsonl(3)


def test_policy_mistakes_raise_every_diagnostic_rendered_like_the_cli(tenet_bin, tmp_path):
    text = 'policy "broken"\n\nrule a: count(user.sesions) <= 3\nrule b: user.nope == 1\n'
    path = tmp_path / "broken.tenet"
    path.write_text(text)
    with pytest.raises(tenet.PolicyError) as info:
        tenet.Engine(path)
    err = info.value
    assert len(err.diagnostics) == 2
    first, second = err.diagnostics
    assert (first.code, first.file, first.line, first.column) == ("T011", str(path), 3, 20)
    assert "sesions" in first.message and first.help
    assert (second.line, second.column) == (4, 14)
    cli = subprocess.run(
        [str(tenet_bin), "check", "-p", str(path), "examples/tenants"],
        cwd=REPO, capture_output=True, env={"NO_COLOR": "1"},
    )
    assert cli.returncode == 2
    assert str(err) + "\n" == cli.stderr.decode()
    assert isinstance(err, ValueError) and isinstance(err, tenet.TenetError)

    with pytest.raises(tenet.PolicyError) as info:
        tenet.Engine(text)
    assert info.value.diagnostics[0].file == "<policy 1>.tenet"


def test_usage_mistakes_raise_usage_error():
    for kwargs in (
        {"params": {"no_such_param": 1}},
        {"params": {"netsuite-2026.1.max_active_certs": "many"}},
        {"rules": ["no_such_rule"]},
        {"now": "yesterday"},
    ):
        with pytest.raises(tenet.UsageError):
            tenet.Engine("policies", **kwargs)
    with pytest.raises(tenet.UsageError, match="does-not-exist"):
        tenet.Engine("does-not-exist")
    with pytest.raises(ValueError, match="time zone"):
        tenet.Engine("policies", now=datetime.datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        tenet.Engine(42)


# ------------------------------------------------------------------------ arrow


def test_arrow_output_has_the_report_columns(engine):
    pa = pytest.importorskip("pyarrow")
    report = engine.check(pathlib.Path("examples/tenants"))
    table = report.to_arrow()
    assert isinstance(table, pa.Table)
    assert table.num_rows == len(report.findings)
    keys = list(report.findings[0].keys())
    assert [n for n in table.column_names if n in keys] == keys
    assert table.schema.field("subject").type == pa.struct(
        [("kind", pa.string()), ("id", pa.string()), ("path", pa.string())]
    )
    for row, f in zip(table.to_pylist(), report.findings):
        row = {k: v for k, v in row.items() if v is not None}
        for column in ("evidence", "see", "location"):  # JSON text columns
            if column in row:
                row[column] = json.loads(row[column])
        row["subject"] = {k: v for k, v in f["subject"].items()}
        assert row == f
    direct = engine.check(pathlib.Path("examples/tenants"), as_arrow=True)
    assert direct.equals(table)
    assert engine.check_many([], as_arrow=True).num_rows == 0


# -------------------------------------------------------------- parallel, GIL


def _tenant_line(users: int) -> str:
    doc = {
        "id": "t",
        "platform": "netsuite",
        "release": "2026.1",
        "roles": [{"id": "r1", "multiple_sessions": True}],
        "users": [
            {"id": f"u-{u}", "roles": ["r1"], "sessions": [{"id": f"s-{u}-{s}"} for s in range(u % 5)]}
            for u in range(users)
        ],
    }
    return json.dumps(doc) + "\n"


def test_evaluation_releases_the_gil(tmp_path):
    engine = tenet.Engine("policies", now=NOW, jobs=1)
    path = tmp_path / "big.jsonl"
    line = _tenant_line(2000)
    copies = 64
    # Long enough to see a stall: grown until one check takes half a second (or 400 MB).
    while True:
        path.write_text(line * copies)
        start = time.perf_counter()
        expected = engine.check_jsonl(path)
        alone = time.perf_counter() - start
        if alone > 0.5 or len(line) * copies * 2 > 400_000_000:
            break
        copies *= 2
    assert alone > 0.1, "the workload must be long enough to see the GIL"

    for run in (lambda: engine.check_jsonl(path), lambda: engine.check(path)):
        done = {}
        worker = threading.Thread(target=lambda: done.setdefault("report", run()))
        worker.start()
        last = time.perf_counter()
        longest = 0.0
        while worker.is_alive():
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now
        worker.join()
        assert done["report"].findings == expected.findings
        # With the GIL held through evaluation, this thread would stall for all of it.
        assert longest < alone / 3, (longest, alone)


def test_threads_share_one_engine(engine):
    ex = pathlib.Path("examples/tenants")
    want = engine.check(ex).findings
    got = []
    threads = [threading.Thread(target=lambda: got.append(engine.check(ex).findings)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [want] * 4
