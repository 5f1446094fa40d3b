"""Deficiency analysis: what each chart still lacks, who must fix it, and for how long.

Rules are data (`chartkeeper/quality/rules/*.toml`, one file per rule set; see `rules.py`
for the format), each naming a detector of the catalogue (`catalogue.DETECTORS`) with its
parameters. A deficiency opens when a rule's check fails, is assigned to the Practitioner
the record names for the rule's responsible role, ages, and closes by itself when the
record is fixed: `on_write` re-evaluates the charts a write touches inside the writer's
transaction. `scan` evaluates every chart; `worklist` lists, reassigns and annotates;
`reports` gives ageing, delinquent records and completeness; `plot` draws the ageing chart.
"""

from .engine import (
    ChartResult,
    ScanReport,
    evaluate_chart,
    make_on_write,
    on_write,
    reevaluate,
    scan,
)
from .plot import ageing_png, plot_ageing
from .reports import (
    BUCKETS,
    Completeness,
    DelinquentRecord,
    ageing,
    completeness,
    delinquent_records,
    report,
)
from .rules import Rule, RuleBook, RuleFileError, default_rules, load_rules
from .worklist import Deficiency, add_note, get_deficiency, list_deficiencies, reassign

__all__ = [
    "BUCKETS",
    "ChartResult",
    "Completeness",
    "Deficiency",
    "DelinquentRecord",
    "Rule",
    "RuleBook",
    "RuleFileError",
    "ScanReport",
    "add_note",
    "ageing",
    "ageing_png",
    "completeness",
    "default_rules",
    "delinquent_records",
    "evaluate_chart",
    "get_deficiency",
    "list_deficiencies",
    "load_rules",
    "make_on_write",
    "on_write",
    "plot_ageing",
    "reassign",
    "reevaluate",
    "report",
    "scan",
]
