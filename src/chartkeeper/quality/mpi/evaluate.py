"""The truth of a labelled test bed and the scoring of a matcher against it.

`Truth` holds the person key of every record (registrations of one person share it) and the
look-alike pairs (twins, household members) that must never be linked; `pair_scores(found,
truth)` gives precision, recall and F1 of a set of linked pairs. The test beds themselves:
`generate.registrations` (self-written) and, in bench/mpi.py, FEBRL3/FEBRL4.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations


@dataclass
class Truth:
    person: dict[str, str] = field(default_factory=dict)  # record id -> person key
    lookalikes: set[tuple[str, str]] = field(default_factory=set)  # twins, family

    def pairs(self) -> set[tuple[str, str]]:
        """Every pair of records of the same person (sorted ids)."""
        groups: dict[str, list[str]] = {}
        for rid, key in self.person.items():
            groups.setdefault(key, []).append(rid)
        return {
            tuple(sorted(p))
            for ids in groups.values()
            if len(ids) > 1
            for p in combinations(ids, 2)
        }


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    def as_json(self) -> dict:
        return {k: getattr(self, k) for k in ("precision", "recall", "f1", "tp", "fp", "fn")}


def pair_scores(found: Iterable[tuple[str, str]], truth: set[tuple[str, str]]) -> Scores:
    got = {tuple(sorted(p)) for p in found}
    tp = len(got & truth)
    fp, fn = len(got) - tp, len(truth) - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(round(precision, 6), round(recall, 6), round(f1, 6), tp, fp, fn)
