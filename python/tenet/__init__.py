"""tenet: policy-as-code for ERP/SaaS tenant configurations, from Python.

The same engine as the `tenet` command line, compiled into this package: the same
policies, the same findings, the same JSON fields.

    import pathlib, tenet

    engine = tenet.Engine("policies", now="2026-11-22T00:00:00Z")
    report = engine.check(pathlib.Path("examples/tenants/netsuite-acme.yaml"))
    for f in report.findings:          # dicts with the JSON report's fields
        print(f["tenant"], f["rule"], f["subject"]["path"], f["message"])
    print(report.summary)              # {"tenants": 1, "evaluations": ..., "fail": ...}

Engine(policies, model=None, params=None, now=None, rules=None, jobs=None)
    policies  a policy file or directory (str or os.PathLike), policy text (a str holding
              a newline), a dict {file name: text}, or a list of these. Directories are
              searched as `tenet check -p DIR` searches them.
    model     None for the built-in `erp` model, or a model file (path), model text, or
              {name: text}.
    params    {"NAME": value} or {"POLICY.NAME": value}, as `--set`: bool, int, float,
              str, datetime (with a time zone), date, timedelta, or a list of them.
    now       the evaluation instant: RFC 3339 text or an aware datetime; None means the
              current time at each check.
    rules     evaluate only these rules: "NAME" or "POLICY.RULE" (a str or a list).
    jobs      worker threads (default: one per core).
    Policy mistakes raise PolicyError with every diagnostic; a bad path, parameter or rule
    raises UsageError.

engine.check(tenant)         one tenant: a dict, JSON or YAML text (str or bytes), or a
                             path (os.PathLike) to a .json/.yaml/.jsonl file or directory.
engine.check_many(tenants)   an iterable of those, evaluated in parallel.
engine.check_jsonl(path)     a JSONL export, read as it is evaluated.
Each returns a Report (findings, summary, to_arrow(), to_jsonl()), or with
as_arrow=True a pyarrow.Table. Evaluation releases the GIL. A tenant that cannot be read
is an `input` finding, never an exception; an object that is not a tenant (a list, a
number) raises TypeError.

For Apache Spark, see tenet.spark.
"""

from __future__ import annotations

from ._errors import Diagnostic, PolicyError, TenetError, UsageError
from ._tenet import Engine, Report, __version__

__all__ = [
    "Diagnostic",
    "Engine",
    "PolicyError",
    "Report",
    "TenetError",
    "UsageError",
    "__version__",
]
