"""Findings as Arrow: the JSON report's fields as columns (pyarrow is optional)."""

from __future__ import annotations

from typing import Any, Dict, List

from . import _tenet


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("Arrow output needs pyarrow: pip install pyarrow") from e
    return pyarrow


def schema() -> Any:
    """The pyarrow schema of findings: one field per report field, in report order.

    `subject` is a struct of strings; `evidence` (an open map of values) is its JSON text,
    marked with the field metadata `{"encoding": "json"}`."""
    pa = _pyarrow()
    fields = []
    for name, kind, members in _tenet.finding_fields():
        if kind == "struct":
            fields.append(pa.field(name, pa.struct([pa.field(m, pa.string()) for m in members])))
        elif kind == "json":
            fields.append(pa.field(name, pa.string(), metadata={"encoding": "json"}))
        else:
            fields.append(pa.field(name, {"string": pa.string(), "int64": pa.int64(),
                                          "float64": pa.float64(), "bool": pa.bool_()}[kind]))
    return pa.schema(fields)


def spark_ddl() -> str:
    """The same columns as a Spark SQL DDL schema string."""
    parts: List[str] = []
    for name, kind, members in _tenet.finding_fields():
        if kind == "struct":
            inner = ", ".join(f"`{m}`: STRING" for m in members)
            parts.append(f"`{name}` STRUCT<{inner}>")
        else:
            parts.append(f"`{name}` " + {"string": "STRING", "json": "STRING", "int64": "BIGINT",
                                          "float64": "DOUBLE", "bool": "BOOLEAN"}[kind])
    return ", ".join(parts)


def table(columns: Dict[str, list]) -> Any:
    """A pyarrow.Table of findings from `Report.columns()`."""
    pa = _pyarrow()
    s = schema()
    return pa.Table.from_arrays([pa.array(columns[f.name], type=f.type) for f in s], schema=s)


def record_batch(columns: Dict[str, list]) -> Any:
    """A pyarrow.RecordBatch of findings from `Report.columns()`."""
    pa = _pyarrow()
    s = schema()
    return pa.RecordBatch.from_arrays([pa.array(columns[f.name], type=f.type) for f in s], schema=s)
