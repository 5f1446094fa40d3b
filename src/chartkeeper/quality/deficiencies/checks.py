"""What a detector is and what it reports: the shared vocabulary of the detector catalogue.

A detector examines one chart and yields a `Check` for every item a rule applies to (a
note, an inpatient stay, a procedure), passed or failed, so completeness can be scored as
passed checks over all checks. Items whose deadline has not come yet yield nothing: they
are neither complete nor deficient. A detector declares its parameters (`Param`) so a
rule file naming an unknown or mistyped parameter is refused when it is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .chart import Chart


@dataclass(frozen=True)
class Param:
    """A detector parameter: its kind (`number`, `text`, `texts` or `flag`) and default."""

    kind: str
    default: Any
    help: str = ""


@dataclass(frozen=True)
class Check:
    """One item a rule examined.

    `opened`: when the deficiency began (the deadline that passed). `resolved`: for an
    item that was fixed late (a discharge summary written after its deadline), when it was
    fixed; the deficiency is then recorded as already closed.
    """

    item: dict  # the resource examined; the responsible person is read from it
    deficient: bool
    encounter_id: str | None = None
    opened: datetime | None = None
    resolved: datetime | None = None
    detail: str = ""

    @property
    def resource(self) -> str:
        return f"{self.item['resourceType']}/{self.item['id']}"

    @property
    def open_now(self) -> bool:
        return self.deficient and self.resolved is None


DetectorFn = Callable[[Chart, dict[str, Any], datetime], Iterator[Check]]


@dataclass(frozen=True)
class Detector:
    name: str
    fn: DetectorFn
    params: dict[str, Param] = field(default_factory=dict)
    summary: str = ""

    def run(self, chart: Chart, params: dict[str, Any], now: datetime) -> Iterator[Check]:
        full = {name: p.default for name, p in self.params.items()} | params
        return self.fn(chart, full, now)


def detector(name: str, summary: str, **params: Param) -> Callable[[DetectorFn], Detector]:
    """Decorator: turn a detector function into a catalogue entry."""

    def wrap(fn: DetectorFn) -> Detector:
        return Detector(name, fn, params, summary)

    return wrap
