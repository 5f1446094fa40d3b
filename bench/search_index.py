"""Search indexing on write: compiled FHIRPath steps against the FHIRPath engine alone.

    python bench/search_index.py                     # the Synthea sample in ../shared/data
    python bench/search_index.py --input DIR --limit 2000

Headline data: SMART's generated Synthea sample (../shared/data/fhir-r4/synthea,
Apache-2.0). For each resource, every search parameter of its type is evaluated twice in
this process: by `search_params.extract` (the common path shapes compiled to Python, the
rest through fhirpathpy) and by fhirpathpy for every expression (what indexing would cost
with the engine alone). The ratio is engine time / our time. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

import fhirpathpy
from fhirpathpy.models import models

from chartkeeper.fhir import search_params as sp

DEFAULT = Path(__file__).resolve().parents[1] / "../shared/data/fhir-r4/synthea"


def _resources(folder: Path, limit: int) -> list[dict]:
    found: list[dict] = []
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text())
        found += [e["resource"] for e in doc.get("entry", []) if "resource" in e]
        if len(found) >= limit:
            break
    return found[:limit]


def _engine_only(resources: list[dict]) -> float:
    compiled: dict[str, object] = {}
    start = time.perf_counter()
    for res in resources:
        for param in sp.params_for(res["resourceType"]).values():
            if param.index_as or param.type == sp.COMPOSITE:
                continue
            expression = sp._RESOLVE_IS.sub(
                r".where(reference.startsWith('\1/'))", param.expression
            )
            if expression not in compiled:
                compiled[expression] = fhirpathpy.compile(expression, model=models["r4"])
            # strict `as` on a collection: the engine refuses (we read it as ofType)
            with contextlib.suppress(Exception):
                compiled[expression](res)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEFAULT)
    parser.add_argument("--limit", type=int, default=1500)
    args = parser.parse_args()
    resources = _resources(args.input, args.limit)
    for res in resources[:50]:  # warm the caches of both
        sp.extract(res)
    start = time.perf_counter()
    for res in resources:
        sp.extract(res)
    ours = time.perf_counter() - start
    engine = _engine_only(resources)
    result = {
        "resources": len(resources),
        "extract_per_s": round(len(resources) / ours, 1),
        "engine_only_per_s": round(len(resources) / engine, 1),
        "ratio": round(engine / ours, 1),
        "parameters": sp.supported_count(),
    }
    print(f"{'resources':>10} {'extract/s':>10} {'engine/s':>10} {'ratio':>7}")
    print(
        f"{result['resources']:>10} {result['extract_per_s']:>10,.0f} "
        f"{result['engine_only_per_s']:>10,.0f} {result['ratio']:>7}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
