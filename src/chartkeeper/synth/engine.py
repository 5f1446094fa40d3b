"""The generation loop: facility bundle first, then one transaction Bundle per registration.

Nothing is kept between slots, so memory stays flat however many patients are generated,
and slot i depends only on (seed, i) and the module list: `generate_slot` or
`generate_range` can be farmed out to worker processes and the results concatenated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from . import ids
from .facility import facility, facility_bundle, transaction
from .model import Chart, Person
from .module import ChartContext, SideSink, SlotContext, SynthModule


def default_modules() -> list[SynthModule]:
    """The modules that make a default chart, in the order they run."""
    from .modules import (
        conditions,
        demographics,
        encounters,
        gaps,
        history,
        medications,
        notes,
        observations,
        oncology,
        procedures,
    )

    return [
        demographics.Demographics(),
        history.History(),
        encounters.Encounters(),
        oncology.Oncology(),
        conditions.Conditions(),
        observations.VitalsAndLabs(),
        procedures.Procedures(),
        medications.Medications(),
        notes.Notes(),
        gaps.DocumentationGaps(),
    ]


def check_modules(modules: Sequence[SynthModule]) -> None:
    """Reject module lists whose names collide (names key the random streams)."""
    names = [m.name for m in modules]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"module names must be unique (they key random streams): {dupes}")


def generate_slot(
    seed: int, slot: int, modules: Sequence[SynthModule], side: SideSink | None = None
) -> list[dict]:
    """The patient bundles of one slot (usually one; more if a module registers extras)."""
    fac = facility()
    people: list[Person] = []
    for m in modules:
        m.people(SlotContext(seed, slot, m.name, fac, side), people)
    bundles = []
    for person in people:
        chart = Chart(person)
        for m in modules:
            m.chart(ChartContext(seed, slot, m.name, fac, side, person), person, chart)
        bundle_id = ids.uuid4_from(ids.stream(seed, slot, person.patient_id, "bundle"))
        bundles.append(transaction(bundle_id, chart.resources))
    return bundles


def generate_range(
    seed: int,
    start: int,
    stop: int,
    modules: Sequence[SynthModule] | None = None,
    side: SideSink | None = None,
) -> Iterator[dict]:
    """Patient bundles for slots start..stop-1 (no facility bundle)."""
    mods = list(modules) if modules is not None else default_modules()
    check_modules(mods)
    for slot in range(start, stop):
        yield from generate_slot(seed, slot, mods, side)


def generate(
    patients: int,
    seed: int,
    modules: Sequence[SynthModule] | None = None,
    *,
    side: SideSink | None = None,
) -> Iterator[dict]:
    """Yield the facility bundle first, then one transaction Bundle per patient.

    Deterministic for a seed: same seed -> identical output (byte-identical JSON when
    written). `modules` replaces the default list (see `default_modules()`); `side`
    receives ``(stream, record)`` pairs that modules emit as ground truth.
    """
    if patients < 0:
        raise ValueError("patients must be >= 0")
    mods = list(modules) if modules is not None else default_modules()
    check_modules(mods)
    yield facility_bundle()
    yield from generate_range(seed, 0, patients, mods, side)
