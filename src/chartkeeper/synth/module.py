"""The plugin interface: `SynthModule` and the contexts its hooks receive.

Generation runs per patient *slot* i (0 <= i < patients). For each slot the engine

1. calls every module's ``people(ctx, people)`` in order, starting from an empty list; the
   demographics module appends the slot's person, later modules may append more
   registrations (a duplicate record of the same human with typos, a twin) or alter them;
2. for each person, creates an empty `Chart` and calls every module's
   ``chart(ctx, person, chart)`` in order; modules add or alter FHIR resources;
3. turns each chart into one transaction Bundle.

Randomness: each module gets its own streams keyed by (seed, slot, module name, ...), so a
module added later never shifts what the existing modules generate for the same seed.
`ctx.rng` is per chart (registration); `ctx.person_rng` is per human (`Person.key`), for
facts that must agree across duplicate registrations (say, the chronic conditions).

Side output: ``ctx.emit(stream, record)`` hands a JSON-able record to the run's side sink;
`write()` appends it as a line to ``out/truth/<stream>.jsonl`` (ground truth for later
evaluation, such as which records are duplicates). `generate()` drops side records unless
given a `side` callable.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import ids
from .facility import Facility

if TYPE_CHECKING:
    from .model import Chart, Person

SideSink = Callable[[str, dict], None]


class SynthModule:
    """Base class for generator modules; override one or both hooks.

    `name` must be unique within a run: it keys the module's random streams.
    """

    name = "module"

    def people(self, ctx: SlotContext, people: list[Person]) -> None:
        """Add or alter the person records of this slot (in place)."""

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        """Add or alter resources and facts of one person's chart (in place)."""


class SlotContext:
    """What a module sees while people are being registered for one slot."""

    def __init__(
        self, seed: int, slot: int, module: str, facility: Facility, side: SideSink | None
    ):
        self.seed = seed
        self.slot = slot
        self.module = module
        self.facility = facility
        self._side = side
        self._rng: random.Random | None = None
        self._ids: ids.IdStream | None = None

    @property
    def rng(self) -> random.Random:
        if self._rng is None:
            self._rng = ids.stream(self.seed, self.slot, self.module, "people")
        return self._rng

    def new_id(self) -> str:
        """A fresh resource id (UUID-shaped), deterministic for this slot and module."""
        if self._ids is None:
            self._ids = ids.IdStream(ids.stream(self.seed, self.slot, self.module, "people-ids"))
        return self._ids()

    def mrn(self, registration: int) -> str:
        """The MRN for registration k of this slot; unique across the whole dataset."""
        return ids.mrn(self.seed, self.slot, registration)

    def ssn(self, registration: int) -> str:
        """A never-issued SSN, unique across the dataset for (slot, registration)."""
        return ids.ssn(self.seed, self.slot, registration)

    def emit(self, stream: str, record: dict) -> None:
        if self._side is not None:
            self._side(stream, record)


class ChartContext(SlotContext):
    """What a module sees while building one person's chart."""

    def __init__(
        self,
        seed: int,
        slot: int,
        module: str,
        facility: Facility,
        side: SideSink | None,
        person: Person,
    ):
        super().__init__(seed, slot, module, facility, side)
        self.person = person
        self._person_rng: random.Random | None = None

    @property
    def rng(self) -> random.Random:
        if self._rng is None:
            self._rng = ids.stream(self.seed, self.slot, self.person.patient_id, self.module)
        return self._rng

    @property
    def person_rng(self) -> random.Random:
        if self._person_rng is None:
            self._person_rng = ids.stream(self.seed, self.person.key, self.module, "person")
        return self._person_rng

    def new_id(self) -> str:
        if self._ids is None:
            self._ids = ids.IdStream(
                ids.stream(self.seed, self.slot, self.person.patient_id, self.module, "ids")
            )
        return self._ids()
