"""Structural validation speed: chartkeeper's validator vs fhir.resources, same process.

    python bench/validate.py                  # the Synthea sample in ../shared/data
    python bench/validate.py --input DIR      # any folder of FHIR JSON bundles or resources
    python bench/validate.py --seconds 3      # measure each side for at least this long

Both sides see the same resources, already parsed into dicts, after one untimed warm-up
pass (imports, schema building, our rule compiling). Each side then validates the whole
set repeatedly until --seconds of this process's CPU time have passed: CPU time, not wall
time, so that other work on a shared machine does not skew the ratio. Single-threaded, so
the rates are per core. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from fhir.resources.R4B import get_fhir_model_class

from chartkeeper.fhir.validation import validate

SYNTHEA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fhir-r4" / "synthea"


def load(folder: Path) -> list[dict]:
    resources = []
    for path in sorted(folder.glob("*.json")):
        doc = orjson.loads(path.read_bytes())
        entries = [e["resource"] for e in doc.get("entry", []) if "resource" in e]
        resources.extend(entries or [doc])
    return resources


def with_fhir_resources(resource: dict) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def rate(check: Callable[[dict], None], resources: list[dict], seconds: float) -> float:
    """Resources per second over whole passes, at least one, lasting `seconds` in all."""
    for resource in resources:  # warm-up, untimed
        check(resource)
    done, start = 0, time.process_time()
    while True:
        for resource in resources:
            check(resource)
        done += len(resources)
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=SYNTHEA)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    if not args.input.is_dir():
        print(f"skipped: no sample data at {args.input}")
        return 0
    resources = load(args.input)
    print(f"{len(resources)} resources from {args.input}")
    reference = rate(with_fhir_resources, resources, args.seconds)
    print(f"fhir.resources model_validate: {reference:10,.0f} resources/s")
    ours = rate(validate, resources, args.seconds)
    print(f"chartkeeper validate:          {ours:10,.0f} resources/s")
    print(f"speedup: {ours / reference:.1f}x")
    summary = {
        "resources": len(resources),
        "fhir_resources_per_s": round(reference),
        "chartkeeper_per_s": round(ours),
        "speedup": round(ours / reference, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
