"""De-identification benchmark: recall and precision of the free-text scrubber, per kind.

    python bench/deid.py                       # 300 patients, seed 1, Safe Harbor dates
    python bench/deid.py --patients 50 --date-shift
    python bench/deid.py --no-structured       # notes only, skip the whole-resource pass

Generates patients with the default modules plus `PlantedIdentifiers` and works on the
generated bundles directly (no store): per patient a `DeidContext` learns the facility's
practitioners and the patient's own resources, then `scrub_text` runs on every note
(DocumentReference attachments and pathology report presentedForm, decoded).

Recall (span level): a planted identifier counts as removed when every letter and digit of
it lies inside a span the scrubber replaced. For a labelled number only the number is the
identifier ("MRN 123": "123"); for an age only the number ("93-year-old": "93").

Precision (token level, consistent across kinds): tokens are runs of letters or digits; a
token is removed when any of its characters lies in a replaced span. A removed token is a
true positive when it lies inside a planted identifier or a native one, and a false
positive otherwise (look-alikes such as "Hgb 13.5", "10 mg", "E11.9", a year, "BP 120/80"
count as false positives when removed). Native identifiers are what the generator's own
note templates write: the patient's names, clinician names, the MRN, MM/DD/YYYY dates,
pathology accession numbers, ages of 90 and over and the facility's own name.

The structured pass runs `deidentify_resource` on every resource, validates each output,
and looks for every planted string (4+ characters, ages aside) left in the output of the
resource it was planted in, attachments decoded. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from chartkeeper import synth
from chartkeeper.errors import InvalidResource
from chartkeeper.fhir.validation import validate
from chartkeeper.privacy.deid import DeidContext, deidentify_resource, scrub_text
from chartkeeper.privacy.deid.gazetteer import EMPTY, load_gazetteer
from chartkeeper.synth.model import AS_OF
from chartkeeper.synth.modules.planted import PlantedIdentifiers

BENCH_KEY = b"chartkeeper-bench-deid-key-0001"  # a fixed key: same run, same numbers
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_NATIVE_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")
_NATIVE_ACCESSION = re.compile(r"\b[A-Z]{2}-\d{2}-\d{4,}\b")
_NATIVE_AGE = re.compile(r"\b(\d{2,3})-year-old\b")


def note_texts(resource: dict) -> list[str]:
    if resource["resourceType"] == "DocumentReference":
        return [base64.b64decode(c["attachment"]["data"]).decode() for c in resource["content"]]
    if resource["resourceType"] == "DiagnosticReport":
        return [base64.b64decode(f["data"]).decode() for f in resource.get("presentedForm", [])]
    return []


def native_spans(
    text: str, patient: dict, clinicians: set[str], facilities: tuple[str, ...] = ()
) -> list[tuple[int, int]]:
    """Identifiers the generator's own templates write (see the module docstring); the
    facility's own name is a location identifier (hospital names are, in clinical de-id)."""
    names = {t.lower() for n in patient.get("name", []) for t in [*n.get("given", []), n["family"]]}
    mrn = next(i["value"] for i in patient["identifier"] if i.get("use") == "usual")
    spans = []
    for m in re.finditer(r"[A-Za-z][A-Za-z'\-]*", text):
        word = m.group().lower()
        if word in names or word in clinicians:
            spans.append((m.start(), m.end()))
    for regex in (_NATIVE_DATE, _NATIVE_ACCESSION):
        spans += [(m.start(), m.end()) for m in regex.finditer(text)]
    spans += [(m.start(), m.end()) for m in re.finditer(re.escape(mrn), text)]
    for facility in facilities:
        spans += [(m.start(), m.end()) for m in re.finditer(re.escape(facility), text)]
    spans += [(m.start(1), m.end(1)) for m in _NATIVE_AGE.finditer(text) if int(m.group(1)) >= 90]
    return spans


class Tally:
    def __init__(self) -> None:
        self.notes = 0
        self.planted: Counter[str] = Counter()
        self.removed: Counter[str] = Counter()
        self.missed: list[str] = []
        self.tokens_removed = 0
        self.tokens_true = 0
        self.false_positives: Counter[str] = Counter()
        self.lookalikes: Counter[str] = Counter()
        self.lookalikes_removed: Counter[str] = Counter()

    def note(
        self, text: str, covered: bytearray, truth: list[dict], looks: list[dict], native
    ) -> None:
        self.notes += 1
        inside = bytearray(len(text))
        for item in truth:
            self.planted[item["kind"]] += 1
            chars = [i for i in range(item["start"], item["end"]) if text[i].isalnum()]
            if all(covered[i] for i in chars):
                self.removed[item["kind"]] += 1
            else:
                self.missed.append(f"{item['kind']}: {item['text']!r}")
            inside[item["start"] : item["end"]] = b"\x01" * (item["end"] - item["start"])
        for start, end in native:
            inside[start:end] = b"\x01" * (end - start)
        for m in _TOKEN.finditer(text):
            if any(covered[m.start() : m.end()]):
                self.tokens_removed += 1
                if any(inside[m.start() : m.end()]):
                    self.tokens_true += 1
                else:
                    self.false_positives[m.group()] += 1
        for item in looks:
            self.lookalikes[item["kind"]] += 1
            if any(covered[item["start"] : item["end"]]):
                self.lookalikes_removed[item["kind"]] += 1


def _without_provider_displays(node: object) -> object:
    """Clinician and facility names stay in references by design; a relative who shares
    a first name with a clinician is not a leak."""
    if isinstance(node, list):
        return [_without_provider_displays(v) for v in node]
    if isinstance(node, dict):
        ref = str(node.get("reference", ""))
        provider = ref.startswith(("Practitioner/", "Organization/", "PractitionerRole/"))
        return {
            k: _without_provider_displays(v)
            for k, v in node.items()
            if not (provider and k == "display")
        }
    return node


def leaks_in(output: dict, planted: list[dict]) -> list[str]:
    dump = json.dumps(_without_provider_displays(output))
    texts = [dump, *note_texts(output)] if "resourceType" in output else [dump]
    found = []
    for item in planted:
        value = item["text"]
        if item["kind"] == "age" or len(value) < 4:
            continue
        pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", re.IGNORECASE)
        if any(pattern.search(t) for t in texts):
            found.append(f"{item['kind']}: {value!r}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--date-shift", action="store_true")
    parser.add_argument("--no-structured", action="store_true")
    parser.add_argument(
        "--gazetteer",
        type=Path,
        help="compiled gazetteer or names-places folder (default: built-in word lists)",
    )
    args = parser.parse_args()
    gazetteer = None
    if args.gazetteer:
        os.environ["CHARTKEEPER_DEID_GAZETTEER"] = str(args.gazetteer)
        gazetteer = load_gazetteer()
    print(
        "SELF-WRITTEN benchmark: the planted identifiers, look-alikes and the scrubber come "
        "from the same hands; see bench/deid_corpus.py for an independent public corpus."
    )
    print(f"gazetteer: {(gazetteer or EMPTY).source}")

    started = time.perf_counter()
    side: list[dict] = []
    modules = [*synth.default_modules(), PlantedIdentifiers()]
    bundles = synth.generate(
        args.patients,
        args.seed,
        modules,
        side=lambda s, r: side.append(r) if s == "planted_identifiers" else None,
    )
    facility = [e["resource"] for e in next(bundles)["entry"]]
    facility_names = tuple(
        r["name"]
        for r in facility
        if r["resourceType"] in ("Organization", "Location") and r.get("name")
    )
    tally = Tally()
    structured = Counter()
    leak_examples: list[str] = []
    scrub_seconds = 0.0
    for bundle in bundles:
        resources = [e["resource"] for e in bundle["entry"]]
        records = defaultdict(list)
        for record in side:
            records[record["id"]].append(record)
        side.clear()
        ctx = DeidContext(
            BENCH_KEY, date_shift=args.date_shift, as_of=AS_OF.date(), gazetteer=gazetteer
        )
        for res in (*facility, *resources):
            ctx.learn(res)
        patient = next(r for r in resources if r["resourceType"] == "Patient")
        for res in resources:
            for index, text in enumerate(note_texts(res)):
                tick = time.perf_counter()
                _, findings = scrub_text(text, ctx, patient=patient["id"])
                scrub_seconds += time.perf_counter() - tick
                covered = bytearray(len(text))
                for f in findings:
                    covered[f.start : f.end] = b"\x01" * (f.end - f.start)
                mine = [r for r in records.get(res["id"], []) if r["region"] and index == 0]
                truth = [i for r in mine for i in r["identifiers"]]
                looks = [i for r in mine for i in r["lookalikes"]]
                native = native_spans(text, patient, ctx.clinician_tokens, facility_names)
                tally.note(text, covered, truth, looks, native)
            if args.no_structured:
                continue
            out = deidentify_resource(res, ctx)
            structured["resources"] += 1
            if out is None:
                continue
            try:
                validate(out)
            except InvalidResource as exc:
                structured["invalid"] += 1
                leak_examples.append(f"invalid {exc}")
            planted = [i for r in records.get(res["id"], []) for i in r["identifiers"]]
            for leak in leaks_in(out, planted):
                structured["leaks"] += 1
                leak_examples.append(f"{res['resourceType']}: {leak}")
            structured["planted"] += len(planted)

    planted = sum(tally.planted.values())
    removed = sum(tally.removed.values())
    recall = removed / planted if planted else 1.0
    precision = tally.tokens_true / tally.tokens_removed if tally.tokens_removed else 1.0
    per_kind = {
        kind: {
            "planted": tally.planted[kind],
            "removed": tally.removed[kind],
            "recall": round(tally.removed[kind] / tally.planted[kind], 4),
        }
        for kind in sorted(tally.planted)
    }
    print(f"{'kind':<11}{'planted':>9}{'removed':>9}{'recall':>9}")
    for kind, row in per_kind.items():
        print(f"{kind:<11}{row['planted']:>9}{row['removed']:>9}{row['recall']:>9.4f}")
    print(f"{'all':<11}{planted:>9}{removed:>9}{recall:>9.4f}")
    looks, looks_removed = sum(tally.lookalikes.values()), sum(tally.lookalikes_removed.values())
    print(
        f"tokens removed {tally.tokens_removed}, of them identifiers {tally.tokens_true}: "
        f"precision {precision:.4f}; look-alikes removed {looks_removed} of {looks} "
        f"{dict(tally.lookalikes_removed)}"
    )
    if tally.missed:
        print("missed (first 15):", "; ".join(tally.missed[:15]))
    if tally.false_positives:
        print("false positives (most common):", tally.false_positives.most_common(15))
    if not args.no_structured:
        print(
            f"structured pass: {structured['resources']} resources, {structured['invalid']} "
            f"invalid, {structured['leaks']} planted strings left "
            f"(of {structured['planted']}) {leak_examples[:80]}"
        )
    summary = {
        "notes": tally.notes,
        "planted": planted,
        "recall": round(recall, 4),
        "precision": round(precision, 4),
        "per_kind": per_kind,
        "lookalikes": looks,
        "lookalikes_removed": looks_removed,
        "structured": dict(structured),
        "patients": args.patients,
        "date_shift": args.date_shift,
        "scrub_ms_per_note": round(1000 * scrub_seconds / max(tally.notes, 1), 2),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
