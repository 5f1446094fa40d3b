"""Synthetic patient generator: realistic charts as FHIR R4 transaction Bundles.

`generate(patients, seed)` streams the facility bundle (organizations and practitioners)
and then one transaction Bundle per patient; `write(out, patients, seed)` puts them on disk.
Patient i depends only on (seed, i), so output is reproducible and can be sliced
(`generate_range`) or parallelised.

A chart is built by a pipeline of `SynthModule`s (see module.py for the hooks and
contexts); the defaults, in order, are demographics, history, encounters, oncology,
conditions, vitals/labs, procedures, medications, notes and documentation gaps
(`default_modules()`). Later work adds modules, for instance one that registers some
people twice with errors and writes the truth through ``ctx.emit``::

    class Duplicates(SynthModule):
        name = "duplicates"

        def people(self, ctx, people):
            if people and ctx.rng.random() < 0.05:
                twin = dataclasses.replace(people[0], patient_id=ctx.new_id(),
                                           registration=1, mrn=ctx.mrn(1), ssn=None)
                people.append(twin)
                ctx.emit("duplicates", {"a": people[0].patient_id, "b": twin.patient_id})

    generate(1000, seed=7, modules=[*default_modules(), Duplicates()])

Only synthetic data: names are common census names, SSNs are in the never-issued 9xx area,
phone numbers in the fictional 555-01xx block, e-mail domains are example.com/net/org.
"""

from .engine import default_modules, generate, generate_range, generate_slot
from .model import AS_OF, HISTORY_END, HISTORY_START, Chart, Person, Problem, Visit
from .module import ChartContext, SideSink, SlotContext, SynthModule
from .writer import WriteSummary, write

__all__ = [
    "AS_OF",
    "HISTORY_END",
    "HISTORY_START",
    "Chart",
    "ChartContext",
    "Person",
    "Problem",
    "SideSink",
    "SlotContext",
    "SynthModule",
    "Visit",
    "WriteSummary",
    "default_modules",
    "generate",
    "generate_range",
    "generate_slot",
    "write",
]
