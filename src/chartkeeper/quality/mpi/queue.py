"""The MPI review queue: pairs a scan could neither link nor dismiss, for a person to judge.

`enqueue(repo, pairs)` stores the "review" pairs of a scan (one row per pair; a rescan
refreshes the probability and evidence of a still-open row and leaves decided rows alone),
`list_reviews` lists them strongest first, `decide` records the verdict with the reviewer:

- "linked" (one person): the two charts are merged in the same transaction through the one
  merge function, `chartkeeper.quality.merge.merge_patients` (the survivor is `a` unless
  the reviewer names the other), so the verdict and the merge stand or fall together and
  the merge can be undone like any other (`quality.unmerge`);
- "not-a-match": remembered; `scan_repo` passes every such pair to the scan, which never
  links it, never puts the two in one cluster and leaves it out of its result, and a
  decided row is never reopened, so the pair does not come back.

A pair the scan scores at or above the auto-link threshold is stored too, without a person:
as a queue row (status "linked", reviewer "mpi-scan") and as a `Patient.link` of type
`seealso` on each record pointing at the other (FHIR R4 Patient.link: "known to contain data
about the same person"). Both charts stay in use: merging them is a reviewer's act (above),
never automatic.

Reads and changes go through the caller's Repository; a guarded one (the API's) audits the
patients shown or changed, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import orjson

from chartkeeper.errors import BadRequest, Conflict, Gone, NotFound
from chartkeeper.fhir.search_params import utc_now
from chartkeeper.store import PutItem, Repository, Transaction
from chartkeeper.store import mpi as store

from .records import extract_records
from .scan import CandidatePair, Thresholds, database_api, scan

STATUSES = ("open", "linked", "not-a-match")
VERDICTS = ("linked", "not-a-match")


@dataclass
class ReviewItem:
    id: int
    a: str
    b: str
    probability: float
    status: str
    found: str
    scanned: str
    decided: str | None
    reviewer: str | None
    note: str | None
    evidence: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return asdict(self)


def _from_row(row) -> ReviewItem:
    data = {k: getattr(row, k) for k in ReviewItem.__dataclass_fields__ if k != "evidence"}
    return ReviewItem(**data, evidence=orjson.loads(row.evidence))


def _audit(tx: Transaction, action: str, items: Iterable[ReviewItem], detail: str) -> None:
    refs = sorted({r for item in items for r in (item.a, item.b)})
    tx.note(action, [{"resourceType": "Patient", "id": r.split("/", 1)[1]} for r in refs], detail)


def _key(a: str, b: str) -> str:
    return "|".join(sorted((a, b)))


AUTO_REVIEWER = "mpi-scan"  # the reviewer named on an automatic link
LINK_TYPE = "seealso"


def link_records(tx: Transaction, a: str, b: str) -> int:
    """Write a `seealso` Patient.link on each of two records ("Patient/<id>") pointing at
    the other, unless it is there already; returns how many records were written. A record
    that is gone (deleted, merged away) is left alone."""
    found = {}
    for ref in (a, b):
        try:
            found[ref] = tx.read("Patient", ref.split("/", 1)[1])
        except (NotFound, Gone):
            return 0
    writes = []
    for me, other in ((a, b), (b, a)):
        patient = found[me]
        links = patient.get("link", [])
        if any((link.get("other") or {}).get("reference") == other for link in links):
            continue
        linked = {**patient, "link": [*links, {"other": {"reference": other}, "type": LINK_TYPE}]}
        writes.append(PutItem(linked, if_match=int(patient["meta"]["versionId"])))
    if writes:
        tx.put_many(writes)
    return len(writes)


def enqueue(repo: Repository, pairs: Iterable[CandidatePair]) -> int:
    """Store a scan's decisions: "review" pairs are queued (or refreshed while open), "link"
    pairs are stored as linked (reviewer "mpi-scan") with their Patient.link pair, in one
    transaction. Returns how many rows were added or changed."""
    now, count = utc_now(), 0
    decided = {_key(p.a, p.b): p for p in pairs if p.decision in ("review", "link")}
    with repo.transaction() as tx:
        known = store.statuses_of(tx, list(decided))
        fresh = []
        for key, p in decided.items():
            evidence = orjson.dumps(p.evidence).decode()
            auto = p.decision == "link"
            if auto and known.get(key) in (None, "open"):
                link_records(tx, min(p.a, p.b), max(p.a, p.b))
                verdict = {"status": "linked", "decided": now, "reviewer": AUTO_REVIEWER}
                verdict["note"] = f"linked automatically at probability {p.probability:.4f}"
            if key not in known:
                fresh.append(
                    {
                        "pair_key": key,
                        "a": min(p.a, p.b),
                        "b": max(p.a, p.b),
                        "probability": p.probability,
                        "evidence": evidence,
                        "status": "open",
                        "found": now,
                        "scanned": now,
                        "decided": None,
                        "reviewer": None,
                        "note": None,
                        **(verdict if auto else {}),
                    }
                )
            elif known[key] == "open" and auto:
                store.refresh_pair(
                    tx, key, probability=p.probability, evidence=evidence, scanned=now, **verdict
                )
                count += 1
            elif known[key] == "open":
                store.refresh_pair(
                    tx, key, probability=p.probability, evidence=evidence, scanned=now
                )
                count += 1
        store.insert_pairs(tx, fresh)
        count += len(fresh)
    return count


def list_reviews(
    repo: Repository, *, status: str = "open", limit: int = 100, offset: int = 0
) -> list[ReviewItem]:
    """The queue, most probable matches first; status open, linked, not-a-match or all."""
    if status not in (*STATUSES, "all"):
        raise BadRequest(f"status must be one of {', '.join(STATUSES)} or all, not {status!r}")
    with repo.reading() as tx:
        rows = store.list_rows(
            tx, status=None if status == "all" else status, limit=min(limit, 1000), offset=offset
        )
        found = [_from_row(r) for r in rows]
        _audit(tx, "mpi-review-list", found, f"status={status}")
    return found


def _get(tx: Transaction, item_id: int) -> ReviewItem:
    row = store.get_row(tx, item_id)
    if row is None:
        raise NotFound(f"MPI review item {item_id} does not exist")
    return _from_row(row)


def get_review(repo: Repository, item_id: int) -> ReviewItem:
    with repo.reading() as tx:
        item = _get(tx, item_id)
        _audit(tx, "mpi-review-read", [item], f"item {item_id}")
    return item


def decide(
    repo: Repository,
    item_id: int,
    verdict: str,
    *,
    reviewer: str,
    note: str = "",
    survivor: str | None = None,
) -> ReviewItem:
    """Record the verdict on an open pair: "linked" (one person: the two are merged into
    `survivor`, "Patient/<id>" or "<id>" of either record, by default `a`) or
    "not-a-match" (remembered, never linked again). All or nothing: a merge that cannot
    be made (a record already merged elsewhere) leaves the item open."""
    if verdict not in VERDICTS:
        raise BadRequest(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    if not reviewer:
        raise BadRequest("a verdict needs the reviewer")
    with repo.transaction() as tx:
        item = _get(tx, item_id)
        if item.status != "open":
            raise Conflict(f"MPI review item {item_id} was already decided: {item.status}")
        detail = f"item {item_id}: {verdict}"
        if verdict == "linked":
            detail += _merge(tx, item, survivor, reviewer, note)
        elif survivor:
            raise BadRequest("a survivor is named only with the verdict linked")
        store.update_item(
            tx, item_id, status=verdict, decided=utc_now(), reviewer=reviewer, note=note or None
        )
        item = _get(tx, item_id)
        _audit(tx, "mpi-review-decide", [item], detail)
    return item


def _merge(tx: Transaction, item: ReviewItem, survivor: str | None, reviewer: str, note: str):
    from chartkeeper.quality.merge import merge_patients

    if survivor is not None and not isinstance(survivor, str):
        raise BadRequest("survivor must be a Patient id")
    keep = item.a if survivor is None else _ref(survivor)
    if keep not in (item.a, item.b):
        raise BadRequest(f"the survivor must be {item.a} or {item.b}, not {survivor!r}")
    gone = item.b if keep == item.a else item.a
    why = f"MPI review item {item.id}: judged one person" + (f" ({note})" if note else "")
    result = merge_patients(
        tx, gone.split("/", 1)[1], keep.split("/", 1)[1], reason=why, by=reviewer
    )
    return f"; merged {gone} into {keep} (merge {result.merge_id})"


def _ref(rid: str) -> str:
    return rid if rid.startswith("Patient/") else f"Patient/{rid}"


def rejected_pairs(repo: Repository) -> set[tuple[str, str]]:
    """Pairs judged "not-a-match", as ("Patient/a", "Patient/b")."""
    with repo.reading() as tx:
        return store.pairs_with_status(tx, "not-a-match")


def scan_repo(
    repo: Repository,
    *,
    thresholds: Thresholds = Thresholds(),
    on_progress: Callable[[str], None] | None = None,
    queue: bool = True,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> list[CandidatePair]:
    """Scan every Patient in the store; queue the review pairs unless `queue` is False.
    `engine`: where Splink runs, "duckdb" or "spark" (`spark_master`: a cluster's URL;
    default a local session); see `database_api`."""
    pairs = scan(
        extract_records(repo),
        thresholds=thresholds,
        on_progress=on_progress,
        not_matches=rejected_pairs(repo),
        db_api=database_api(engine, spark_master=spark_master),
    )
    if queue:
        enqueue(repo, pairs)
    return pairs
