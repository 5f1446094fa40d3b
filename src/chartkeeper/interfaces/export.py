"""NDJSON export: one `<Type>.ndjson` file per resource type, the stored JSON unchanged.

Used by `chartkeeper export` and by the Bulk Data `$export` jobs of the API; the reverse of
bundle/NDJSON import, so export → import into an empty store reproduces the records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from chartkeeper.store import Repository


def export_ndjson(
    repo: Repository,
    out: Path,
    resource_types: Iterable[str] | None = None,
    on_resource: Callable[[], None] | None = None,
    *,
    since: str | None = None,
    patient_compartment: bool = False,
) -> dict[str, int]:
    """Write `out/<Type>.ndjson` for every live resource: the stored JSON, byte for byte.

    A type with nothing to export gets no file. `since` and `patient_compartment` are the
    Bulk Data `_since` and Patient-level export. For a guarded repository each type is
    checked, labelled records the caller may not see are left out, and the export is
    audited when it ends; the reading itself runs in a read-only snapshot so a long export
    never holds the database's write lock.
    """
    guard = repo.guard
    snapshot = Repository(repo.engine)
    with snapshot.reading() as tx:
        types = list(resource_types or tx.resource_types())
    for rtype in types:
        if guard:
            guard.check("export", rtype)
    hidden = guard.hidden_labels() if guard else None
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with snapshot.reading() as tx:
        for rtype in types:
            contents = tx.iter_content(
                rtype, since=since, patient_compartment=patient_compartment, hidden=hidden
            )
            path = out / f"{rtype}.ndjson"
            with path.open("w", encoding="utf-8") as handle:
                for content in contents:
                    handle.write(content + "\n")
                    counts[rtype] = counts.get(rtype, 0) + 1
                    if on_resource:
                        on_resource()
            if rtype not in counts:
                path.unlink()
    if guard:
        with repo.transaction() as tx:
            summary = ", ".join(f"{t} {n}" for t, n in sorted(counts.items())) or "nothing"
            scope = "patient compartment" if patient_compartment else "all"
            tx.note("export", detail=f"{scope}{' since ' + since if since else ''}: {summary}")
    return counts
