"""Type stubs of the native module (see `help(tenet)`)."""

import datetime
import os
from typing import Any, Dict, Iterable, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union, overload

__version__: str

_PathLike = Union[str, "os.PathLike[str]"]
_Policies = Union[_PathLike, Mapping[str, str], Sequence[Union[_PathLike, Mapping[str, str]]]]
_Tenant = Union[Mapping[str, Any], str, bytes, bytearray, memoryview, "os.PathLike[str]"]
_ParamValue = Union[bool, int, float, str, datetime.date, datetime.datetime, datetime.timedelta, Sequence[Any]]

class Report:
    """The result of a check: findings in input order and their summary."""

    @property
    def findings(self) -> List[Dict[str, Any]]:
        """The findings, as dicts with exactly the JSON report's fields: tenant, source,
        policy, rule, code, severity, status, subject {kind, id, path}, message, and when
        present remediation, reason, evidence."""
    @property
    def summary(self) -> Dict[str, Any]:
        """Counts over every tenant checked: tenants, evaluations, pass, fail, error, skip,
        fail_by_severity {error, warning, info}."""
    @property
    def now(self) -> str:
        """The evaluation instant used (RFC 3339)."""
    @property
    def input_errors(self) -> int:
        """Tenants that could not be read (each has one `input` finding)."""
    def to_jsonl(self) -> str:
        """The report as `tenet check --format jsonl` writes it."""
    def to_arrow(self) -> Any:
        """The findings as a pyarrow.Table (needs pyarrow)."""
    def columns(self) -> Dict[str, List[Any]]:
        """The findings column by column, as to_arrow() lays them out."""
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Dict[str, Any]]: ...

class Engine:
    """Compiled policies, ready to check tenants (see `help(tenet)`)."""

    def __init__(
        self,
        policies: _Policies,
        model: Optional[Union[_PathLike, Mapping[str, str]]] = None,
        params: Optional[Mapping[str, _ParamValue]] = None,
        now: Optional[Union[str, datetime.datetime, datetime.date]] = None,
        rules: Optional[Union[str, Sequence[str]]] = None,
        jobs: Optional[int] = None,
    ) -> None: ...
    @overload
    def check(self, tenant: _Tenant, *, source: Optional[str] = None, as_arrow: Literal[False] = False) -> Report: ...
    @overload
    def check(self, tenant: _Tenant, *, source: Optional[str] = None, as_arrow: Literal[True]) -> Any: ...
    @overload
    def check_many(
        self, tenants: Iterable[_Tenant], *, source: Optional[str] = None, as_arrow: Literal[False] = False
    ) -> Report: ...
    @overload
    def check_many(self, tenants: Iterable[_Tenant], *, source: Optional[str] = None, as_arrow: Literal[True]) -> Any: ...
    @overload
    def check_jsonl(self, path: _PathLike, *, as_arrow: Literal[False] = False) -> Report: ...
    @overload
    def check_jsonl(self, path: _PathLike, *, as_arrow: Literal[True]) -> Any: ...
    @property
    def policies(self) -> List[Dict[str, Any]]:
        """The policies compiled: name, file, rules."""
    @property
    def now(self) -> Optional[str]:
        """The evaluation instant, or None for the current time at each check."""
    @property
    def jobs(self) -> int:
        """Worker threads used to evaluate."""
    def _check_rows(self, rows: List[Optional[str]], sources: List[Optional[str]]) -> Report: ...
    def _spec(self) -> Dict[str, Any]: ...

def finding_fields() -> List[Tuple[str, str, List[str]]]:
    """The report's fields and their column kinds."""
