"""Helpers the native module calls: tenant encoding and engine restoring (pickling)."""

from __future__ import annotations

import datetime
import json
import threading
from typing import Any, Dict, Tuple


def _default(o: Any) -> Any:
    if isinstance(o, (datetime.datetime, datetime.date)):
        return o.isoformat()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def tenant_json(obj: Any) -> bytes:
    """A tenant given as a mapping, as JSON (dates and datetimes as ISO 8601 text)."""
    if not isinstance(obj, dict):
        obj = dict(obj)
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, default=_default).encode("utf-8")


_ENGINES: Dict[Tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def _key(spec: Dict[str, Any]) -> Tuple[Any, ...]:
    model = spec.get("model")
    return (
        tuple(spec["policies"].items()),
        tuple(model.items()) if model else None,
        tuple(spec["params"].items()),
        spec["now"],
        tuple(spec["rules"]),
        spec["jobs"],
    )


def restore_engine(spec: Dict[str, Any]) -> Any:
    """An engine made from `Engine._spec()`: compiled once per process and spec (Spark
    executors unpickle the engine once per task; this keeps them from recompiling)."""
    from . import Engine

    key = _key(spec)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = Engine(
                spec["policies"],
                model=spec["model"],
                params=spec["params"] or None,
                now=spec["now"],
                rules=spec["rules"] or None,
                jobs=spec["jobs"],
            )
            _ENGINES[key] = engine
        return engine
