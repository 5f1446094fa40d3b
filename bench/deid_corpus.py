"""De-identification benchmark on an independent public corpus: ASQ-PHI.

    python bench/deid_corpus.py PATH/synthetic_clinical_queries.txt [--gazetteer PATH]
                                [--split all|odd|even] [--show-misses N]

Corpus: ASQ-PHI, "Adversarial Synthetic Queries for PHI" (Weatherhead, Golovko & McCaffrey,
Data in Brief 65:112586, 2026; github.com/JamesWeatherhead/asq-phi, file
data/synthetic_clinical_queries.txt; MIT licence; doi:10.17632/csz5dzp7nx.1). 1,051 fully
synthetic English clinical queries (GPT-4o), 2,973 PHI values annotated by Safe Harbor type;
219 queries are hard negatives with no PHI. Nobody on this project wrote it. It is read
from the path given; nothing of it is in this repository.

Its annotations are values, not offsets: each value is located in its query (every
occurrence). Metrics:
- recall, per type: a value counts as removed when every letter and digit of it lies
  inside a span the scrubber replaced (partial removal is a miss);
- span precision: the share of replaced spans that overlap an annotated value;
- hard negatives: how many PHI-free queries were left untouched.
ASQ-PHI treats facility names and cities as GEOGRAPHIC_LOCATION; ages are not annotated
(none over 89), so an age the scrubber removes counts against precision.

--split odd/even: the queries were looked at during development only for odd indexes
(1st, 3rd, ...); the even half is reported separately as never inspected. The last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from chartkeeper.privacy.deid import DeidContext, scrub_text
from chartkeeper.privacy.deid.gazetteer import EMPTY, load_gazetteer
from chartkeeper.privacy.deid.names import US_STATES

KEY = b"chartkeeper-bench-deid-corpus-01"
_ALNUM = re.compile(r"[A-Za-z0-9]")
_TITLE = re.compile(r"^(?:Dr|Mr|Mrs|Ms|Miss|Prof)\.?\s+")
_STATES = "|".join([*US_STATES, *sorted(US_STATES.values(), key=len, reverse=True)])
_STATE_TAIL = re.compile(rf",?\s*(?:{_STATES})\.?$")


def _kept_parts(text: str, start: int, end: int) -> set[int]:
    """Offsets of a leading title or a trailing state in an annotated value: Safe Harbor
    keeps both (titles are no identifier; states are the one geographic unit allowed)."""
    value = text[start:end]
    kept: set[int] = set()
    m = _TITLE.match(value)
    if m:
        kept |= set(range(start, start + m.end()))
    m = _STATE_TAIL.search(value)
    if m and m.start() > 0:
        kept |= set(range(start + m.start(), end))
    return kept


def read_corpus(path: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(query, [(type, value), ...])] from ASQ-PHI's ===QUERY=== / ===PHI_TAGS=== blocks."""
    records = []
    for block in path.read_text(encoding="utf-8").split("===QUERY===")[1:]:
        query, _, tags = block.partition("===PHI_TAGS===")
        phi = []
        for line in tags.strip().splitlines():
            line = line.strip()
            if line:
                tag = json.loads(line)
                phi.append((tag["identifier_type"], str(tag["value"])))
        records.append((query.strip(), phi))
    return records


def locate(text: str, value: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in re.finditer(re.escape(value), text)]
    if not spans:
        spans = [(m.start(), m.end()) for m in re.finditer(re.escape(value), text, re.I)]
    return spans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="ASQ-PHI data/synthetic_clinical_queries.txt")
    parser.add_argument("--gazetteer", type=Path, help="compiled file or names-places folder")
    parser.add_argument("--split", choices=("all", "odd", "even"), default="all")
    parser.add_argument("--show-misses", type=int, default=0)
    args = parser.parse_args()
    if not args.corpus.is_file():
        print(f"{args.corpus}: not a file", file=sys.stderr)
        return 2
    gazetteer = EMPTY
    if args.gazetteer:
        os.environ["CHARTKEEPER_DEID_GAZETTEER"] = str(args.gazetteer)
        gazetteer = load_gazetteer()
    records = read_corpus(args.corpus)
    if args.split != "all":
        records = records[(0 if args.split == "odd" else 1) :: 2]
    ctx = DeidContext(KEY, gazetteer=gazetteer)

    found = Counter()
    kept_ok = Counter()  # removed but for a title or a state, which Safe Harbor keeps
    total = Counter()
    unlocated = 0
    spans_all = spans_true = 0
    fp_kinds = Counter()
    negatives = negatives_clean = 0
    misses: list[str] = []
    false_pos: list[str] = []
    started = time.perf_counter()
    for query, phi in records:
        _, findings = scrub_text(query, ctx)
        covered = bytearray(len(query))
        for f in findings:
            covered[f.start : f.end] = b"\x01" * (f.end - f.start)
        gold: list[tuple[int, int]] = []
        for kind, value in phi:
            places = locate(query, value)
            if not places:
                unlocated += 1
                continue
            gold += places
            for start, end in places:
                total[kind] += 1
                chars = [i for i in range(start, end) if _ALNUM.match(query[i])]
                if all(covered[i] for i in chars):
                    found[kind] += 1
                    kept_ok[kind] += 1
                elif all(covered[i] for i in chars if i not in _kept_parts(query, start, end)):
                    kept_ok[kind] += 1
                if not all(covered[i] for i in chars if i not in _kept_parts(query, start, end)):
                    misses.append(f"{kind}: {value!r} in {query[:160]!r}")
        for f in findings:
            spans_all += 1
            if any(f.start < e and s < f.end for s, e in gold):
                spans_true += 1
            else:
                fp_kinds[f.kind] += 1
                false_pos.append(f"{f.kind}: {f.text!r} in {query[:160]!r}")
        if not phi:
            negatives += 1
            negatives_clean += not findings
    seconds = time.perf_counter() - started

    print(
        "Independent corpus: ASQ-PHI (Weatherhead et al. 2026, MIT licence), "
        f"{len(records)} queries ({args.split}); gazetteer: {gazetteer.source}"
    )
    print("recall: 'strict' = every letter and digit removed; 'SH' = all but a leading title")
    print("or a trailing state, which Safe Harbor keeps ('Dr. [NAME]', '[LOCATION], GA')")
    print(f"{'type':<32}{'values':>8}{'strict':>9}{'SH':>9}")
    for kind in sorted(total, key=lambda k: -total[k]):
        print(
            f"{kind:<32}{total[kind]:>8}{found[kind] / total[kind]:>9.4f}"
            f"{kept_ok[kind] / total[kind]:>9.4f}"
        )
    n_total, n_found, n_ok = sum(total.values()), sum(found.values()), sum(kept_ok.values())
    recall = n_found / n_total if n_total else 0.0
    recall_sh = n_ok / n_total if n_total else 0.0
    precision = spans_true / spans_all if spans_all else 1.0
    print(f"{'all':<32}{n_total:>8}{recall:>9.4f}{recall_sh:>9.4f}")
    print(
        f"span precision {precision:.4f} ({spans_true} of {spans_all} replaced spans overlap "
        f"an annotated value); false positives by kind: {dict(fp_kinds.most_common())}"
    )
    print(f"hard negatives left untouched: {negatives_clean} of {negatives}")
    print(f"values not found verbatim in their query (skipped): {unlocated}")
    print(f"{len(records) / seconds:.0f} queries/s")
    for line in misses[: args.show_misses]:
        print("MISS", line)
    for line in false_pos[: args.show_misses]:
        print("FP  ", line)
    per_type = defaultdict(dict)
    for kind in total:
        per_type[kind] = {
            "values": total[kind],
            "removed_strict": found[kind],
            "removed_safe_harbor": kept_ok[kind],
        }
    print(
        json.dumps(
            {
                "corpus": "ASQ-PHI",
                "licence": "MIT",
                "split": args.split,
                "queries": len(records),
                "recall_strict": round(recall, 4),
                "recall_safe_harbor": round(recall_sh, 4),
                "span_precision": round(precision, 4),
                "per_type": per_type,
                "hard_negatives": negatives,
                "hard_negatives_untouched": negatives_clean,
                "gazetteer": gazetteer.loaded,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
