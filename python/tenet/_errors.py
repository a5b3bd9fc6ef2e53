"""Exceptions raised by tenet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence


class TenetError(Exception):
    """Base class of tenet's exceptions."""


class UsageError(TenetError, ValueError):
    """The engine cannot be made as asked: a policy or model path that cannot be read, an
    unknown parameter or rule, a parameter value of the wrong type, a malformed instant.
    The message says which (the same message as the CLI's)."""


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a policy or model file, as `tenet lint` reports it.

    `line` and `column` are 1-based (columns count characters); `end_line` and
    `end_column` are where the underlined text ends. `rendered` is the CLI's rendering
    (the quoted source lines, the label, the help line), without colors."""

    code: str
    message: str
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    label: Optional[str]
    help: Optional[str]
    rendered: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.code}: {self.message}"


class PolicyError(TenetError, ValueError):
    """Policies (or a model) with mistakes: nothing was compiled.

    `diagnostics` holds every problem found, not only the first; `str(error)` renders
    them all as `tenet check` prints them on standard error."""

    diagnostics: Sequence[Diagnostic]

    def __init__(self, diagnostics: Sequence[Mapping[str, Any]]) -> None:
        self.diagnostics = [Diagnostic(**d) for d in diagnostics]
        n = len(self.diagnostics)
        super().__init__(f"{n} problem{'' if n == 1 else 's'} found")

    def __str__(self) -> str:
        n = len(self.diagnostics)
        body = "".join(d.rendered for d in self.diagnostics)
        return f"{body}{n} problem{'' if n == 1 else 's'} found"
