"""Master patient index: finds Patient records that belong to one person.

Probabilistic record linkage (Fellegi–Sunter) with Splink, on DuckDB by default and on Spark
for large installations (see model.py). The pipeline:

- `extract_records(repo)`: live Patient resources as flat demographic records;
- `scan(records, thresholds=...)`: scores candidate pairs found by several blocking rules,
  decides "link" (at or above the link threshold) or "review" (between the thresholds),
  keeps households (twins, family) from being linked, and clusters links so that no chain
  of pairwise links joins different people (scan.py); each `CandidatePair` carries its
  evidence: the level of every comparison and its Bayes factor;
- `json_lines(pairs)`: the `--json` output, one pair per line;
- the review queue (queue.py): `enqueue`, `list_reviews`, `decide`; a "linked" verdict
  merges the pair through `quality.merge.merge_patients`, a "not a match" verdict feeds
  back into later scans through `scan_repo`, which then leave the pair out.

`generate.py` writes a labelled registration test bed (self-written: typos, nicknames,
missing values, moves, SSN and birth-date slips, swapped names; twins and households), and
`evaluate.py` scores a matcher against such truth; both serve the tests and bench/mpi.py.
"""

from .queue import (
    ReviewItem,
    decide,
    enqueue,
    get_review,
    list_reviews,
    rejected_pairs,
    scan_repo,
)
from .records import extract_records, record_from_patient
from .scan import CandidatePair, Thresholds, clusters, json_lines, scan

__all__ = [
    "CandidatePair",
    "ReviewItem",
    "Thresholds",
    "clusters",
    "decide",
    "enqueue",
    "extract_records",
    "get_review",
    "json_lines",
    "list_reviews",
    "record_from_patient",
    "rejected_pairs",
    "scan",
    "scan_repo",
]
