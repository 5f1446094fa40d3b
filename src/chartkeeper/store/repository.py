"""The Repository: every read and write of a resource goes through here.

A write validates the resource, gives it the next version (`meta.versionId`,
`meta.lastUpdated`), keeps the old version in history and refreshes its search index rows,
all in the caller's transaction. Writes come in batches (`Transaction.put_many`) so a
bundle of 500 resources costs a handful of `executemany` round trips, not 500 × 8 queries;
single creates and updates are batches of one, so there is one write path.

Concurrency is optimistic: an update that names a version (`if_match`) is refused when the
stored version differs, and every update is conditional on the version it read
(`UPDATE … WHERE version_id = :read`), so a concurrent writer gets VersionConflict rather
than silently overwriting (no lost update).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from chartkeeper.errors import (
    AmbiguousMatch,
    ChartkeeperError,
    Conflict,
    Forbidden,
    Gone,
    Hidden,
    InvalidResource,
    Issue,
    NotFound,
    VersionConflict,
    not_in_store,
)
from chartkeeper.fhir import search_params
from chartkeeper.fhir.resource_types import RESOURCE_TYPES
from chartkeeper.fhir.validation import validate
from chartkeeper.store.dialect import bulk_insert, placeholder
from chartkeeper.store.engine import WRITE, durable_write
from chartkeeper.store.guard import Guard, HiddenLabels
from chartkeeper.store.resources import INDEX_TABLES, current, resource, resource_history
from chartkeeper.store.search import SearchPage, not_hidden, search

ALL_TYPES = "*"  # a check that spans every resource type (system history)
WriteHook = Callable[["Transaction", list[dict]], None]

_CHUNK = 500  # keys per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
Label = tuple[str, str]


@dataclass(frozen=True)
class StoreForm:
    """What the store derives from a resource's content: computed once, possibly in a
    worker process (the bulk importer), then handed to put_many."""

    digest: str
    index: search_params.IndexRows


def store_form(res: dict) -> StoreForm:
    return StoreForm(content_hash(res), search_params.extract(res))


@dataclass
class PutItem:
    """One resource to write. `if_match` is the version the writer last saw, if any."""

    resource: dict
    if_match: int | None = None
    create_only: bool = False  # refuse when a live resource with this id exists
    stored: StoreForm | None = None  # precomputed store_form(resource), if the caller has it


@dataclass
class WriteResult:
    resource: dict
    outcome: str  # created | updated | unchanged | deleted


@dataclass
class _Stored:
    version_id: int
    last_updated: str
    deleted: bool
    content_hash: str


def content_hash(res: dict) -> str:
    """Hash of a resource's content, ignoring the version metadata the store assigns."""
    meta = res.get("meta")
    if meta and ("versionId" in meta or "lastUpdated" in meta):
        rest = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        res = {**res, "meta": rest} if rest else {k: v for k, v in res.items() if k != "meta"}
    return hashlib.blake2b(
        orjson.dumps(res, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()


def _with_meta(res: dict, version: int, stamp: str) -> dict:
    return {**res, "meta": {**res.get("meta", {}), "versionId": str(version), "lastUpdated": stamp}}


def labels_of(res: dict | None) -> frozenset[Label]:
    """The security labels (system, code) in a resource's meta.security."""
    meta = (res or {}).get("meta")
    security = meta.get("security") if isinstance(meta, dict) else None
    if not isinstance(security, list):
        return frozenset()
    return frozenset(
        (s.get("system", ""), s.get("code", "")) for s in security if isinstance(s, dict)
    )


def _labelled(key: tuple[str, str], content: dict | None, labels: frozenset[Label]) -> dict:
    """What the guard judges for one version: its content (for a deletion, the content it
    deleted, so whose chart it was still counts) carrying `labels`."""
    base = content or {}
    security = [{"system": s, "code": c} for s, c in sorted(labels)]
    return {
        **base,
        "resourceType": key[0],
        "id": key[1],
        "meta": {**base.get("meta", {}), "security": security},
    }


def _version_views(
    key: tuple[str, str], versions: list[tuple[int, dict | None]]
) -> dict[int, dict]:
    """Per version (ascending input), the view the guard judges: a label on a version
    hides that version and every earlier one (a record labelled later was as sensitive
    before), so each view carries the labels of its own and every later version. The
    current version carries only its own, as reads and searches see it; a label removed
    by someone allowed to remove it opens the versions from then on, not the older ones."""
    content: dict[int, dict | None] = {}
    last = None
    for version, res in versions:
        last = res if res is not None else last
        content[version] = last
    views, later = {}, frozenset()
    for version, _res in reversed(versions):
        later = later | labels_of(content[version])
        views[version] = _labelled(key, content[version], later)
    return views


def _check_identity(res: dict) -> None:
    rtype = res.get("resourceType")
    if not isinstance(rtype, str) or rtype not in RESOURCE_TYPES:
        raise InvalidResource(
            str(rtype), res.get("id"), [Issue("resourceType", "unknown resource type")]
        )
    if not isinstance(res.get("id"), str):
        raise InvalidResource(
            rtype, None, [Issue(f"{rtype}.id", "an id is required to store a resource")]
        )


class Transaction:
    """Reads and writes inside one database transaction (see Repository.transaction).

    With a Guard, each operation is checked and audited in this same transaction.
    """

    def __init__(
        self, conn: Connection, guard: Guard | None = None, on_write: WriteHook | None = None
    ):
        self.conn = conn
        self.guard = guard
        self.on_write = on_write

    def _written(self, resources: list[dict]) -> None:
        if self.on_write and resources:
            self.on_write(self, resources)

    def _check(self, action: str, resource_type: str) -> None:
        if self.guard:
            self.guard.check(action, resource_type)

    def _shown(self, action: str, res: dict) -> dict:
        if self.guard:
            if not self.guard.visible(res):
                raise self._hidden((res["resourceType"], res["id"]), res)
            self.guard.audit(self.conn, action, [res])
        return res

    def unguarded(self) -> Transaction:
        """The same transaction past the guard and the write hook: for the trusted inside
        (a deficiency scan reads the whole chart, a disclosure worksheet lists what is
        withheld), never for showing a record to a caller."""
        return Transaction(self.conn)

    @staticmethod
    def _hidden(key: tuple[str, str], view: dict, message: str | None = None) -> Hidden:
        labels = ", ".join(f"{c}" for _s, c in sorted(labels_of(view))) or "type not readable"
        return Hidden(
            message or not_in_store(*key),
            f"{key[0]}/{key[1]} hidden by policy ({labels})",
        )

    def _views(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[int, dict]]:
        """Every stored version of these resources as the guard judges it (_version_views)."""
        by_type: dict[str, list[str]] = {}
        for rtype, rid in set(keys):
            by_type.setdefault(rtype, []).append(rid)
        h = resource_history.c
        versions: dict[tuple[str, str], list[tuple[int, dict | None]]] = {}
        for rtype, ids in by_type.items():
            for start in range(0, len(ids), _CHUNK):
                query = (
                    select(h.id, h.version_id, h.content)
                    .where(h.resource_type == rtype, h.id.in_(ids[start : start + _CHUNK]))
                    .order_by(h.id, h.version_id)
                )
                for rid, version, content in self.conn.execute(query):
                    versions.setdefault((rtype, rid), []).append(
                        (version, orjson.loads(content) if content else None)
                    )
        return {key: _version_views(key, found) for key, found in versions.items()}

    def _current_view(self, key: tuple[str, str]) -> dict | None:
        views = self._views([key]).get(key)
        return views[max(views)] if views else None

    def note(self, action: str, resources: Sequence[dict] = (), detail: str = "") -> None:
        """Audit an access the caller made through this transaction (an export, a disclosure)."""
        if self.guard:
            self.guard.audit(self.conn, action, resources, detail)

    # --- reads -------------------------------------------------------------------------

    def read(self, resource_type: str, resource_id: str) -> dict:
        self._check("read", resource_type)
        row = self.conn.execute(
            select(resource_history.c.content, resource.c.deleted, resource.c.version_id)
            .select_from(current)
            .where(resource.c.resource_type == resource_type, resource.c.id == resource_id)
        ).first()
        if row is None:
            raise NotFound(not_in_store(resource_type, resource_id))
        if row.deleted:
            key = (resource_type, resource_id)
            view = self._current_view(key) if self.guard else None
            if view is not None and not self.guard.visible(view):  # type: ignore[union-attr]
                raise self._hidden(key, view)
            raise Gone(f"{resource_type}/{resource_id} was deleted (version {row.version_id})")
        return self._shown("read", orjson.loads(row.content))

    def vread(self, resource_type: str, resource_id: str, version_id: int) -> dict:
        self._check("read", resource_type)
        row = self.conn.execute(
            select(resource_history.c.content).where(
                resource_history.c.resource_type == resource_type,
                resource_history.c.id == resource_id,
                resource_history.c.version_id == version_id,
            )
        ).first()
        missing = f"{resource_type}/{resource_id} has no version {version_id}"
        if row is None:
            raise NotFound(missing)
        if self.guard:  # judged with the labels of later versions too
            key = (resource_type, resource_id)
            view = self._views([key])[key][version_id]
            if not self.guard.visible(view):
                raise self._hidden(key, view, missing)
        if row.content is None:
            raise Gone(f"version {version_id} of {resource_type}/{resource_id} is its deletion")
        res = orjson.loads(row.content)
        if self.guard:
            self.guard.audit(self.conn, "vread", [res])
        return res

    def history(
        self,
        resource_type: str | None = None,
        resource_id: str | None = None,
        *,
        since: str | None = None,
        at: tuple[str, str] | None = None,
        count: int = 100,
        offset: int = 0,
    ) -> list[dict]:
        """Versions newest first, as {resource_type, id, version_id, last_updated, method,
        resource}; `resource` is None for a deletion. `since`: versions written from then
        on; `at` (start, end): versions that were current at some point in [start, end],
        which are each resource's version current at `start` plus those written after it
        up to `end`."""
        self._check("read", resource_type or ALL_TYPES)
        h = resource_history.c
        query = select(h.resource_type, h.id, h.version_id, h.last_updated, h.method, h.content)
        scope = []
        if resource_type:
            scope.append(h.resource_type == resource_type)
        if resource_id:
            scope.append(h.id == resource_id)
        query = query.where(*scope)
        if since:
            query = query.where(h.last_updated >= since)
        if at:
            start, end = at
            before = (
                select(h.resource_type, h.id, func.max(h.version_id))
                .where(*scope, h.last_updated <= start)
                .group_by(h.resource_type, h.id)
            )
            query = query.where(
                or_(
                    and_(h.last_updated > start, h.last_updated <= end),
                    tuple_(h.resource_type, h.id, h.version_id).in_(before),
                )
            )
        query = (
            query.order_by(h.last_updated.desc(), h.version_id.desc(), h.id)
            .limit(count)
            .offset(offset)
        )
        versions = [
            {
                "resource_type": r.resource_type,
                "id": r.id,
                "version_id": r.version_id,
                "last_updated": r.last_updated,
                "method": r.method,
                "resource": orjson.loads(r.content) if r.content else None,
            }
            for r in self.conn.execute(query)
        ]
        if self.guard:
            views = self._views((v["resource_type"], v["id"]) for v in versions)
            versions = [
                v
                for v in versions
                if self.guard.visible(views[(v["resource_type"], v["id"])][v["version_id"]])
            ]
            shown = [v["resource"] for v in versions if v["resource"] is not None]
            self.guard.audit(self.conn, "history", shown)
        return versions

    def search(self, resource_type: str, params: Sequence[tuple[str, str]] = ()) -> SearchPage:
        self._check("search", resource_type)
        hidden = self.guard.hidden_labels() if self.guard else None
        page = search(self.conn, resource_type, params, hidden=hidden)
        if self.guard:
            query = "&".join(f"{k}={v}" for k, v in params)
            self.guard.audit(self.conn, "search", page.resources, f"{resource_type}?{query}")
        return page

    def matching_ids(self, resource_type: str, query: str, limit: int = 2) -> list[str]:
        """Ids of the resources a conditional query (`identifier=sys%7C1&...`, encoded as
        in a URL) matches, at most `limit`: for conditional creates and references."""
        params = parse_qsl(query, keep_blank_values=True)
        page = self.search(resource_type, [*params, ("_count", str(limit))])
        return [r["id"] for r in page.resources]

    def create_unless_exists(self, res: dict, query: str) -> tuple[dict, bool]:
        """FHIR conditional create (`If-None-Exist`): the match if there is exactly one,
        else a new resource; (resource, created)."""
        rtype = res["resourceType"]
        ids = self.matching_ids(rtype, query)
        if len(ids) > 1:
            raise AmbiguousMatch(f"'{query}' matches more than one {rtype}; nothing was created")
        if ids:
            return self.read(rtype, ids[0]), False
        return self.create(res), True

    def read_many(self, keys: Iterable[tuple[str, str]]) -> list[dict]:
        """The live resources among these keys, in a stable (type, id) order."""
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        found = []
        for rtype in sorted(by_type):
            ids = sorted(by_type[rtype])
            for start in range(0, len(ids), _CHUNK):
                query = (
                    select(resource_history.c.content)
                    .select_from(current)
                    .where(
                        resource.c.resource_type == rtype,
                        resource.c.id.in_(ids[start : start + _CHUNK]),
                        resource.c.deleted.is_(False),
                    )
                    .order_by(resource.c.id)
                )
                found.extend(orjson.loads(c) for c in self.conn.execute(query).scalars())
        if self.guard:  # what is included alongside a search or $everything: shown, so audited
            found = [r for r in found if self.guard.visible(r)]
            self.guard.audit(self.conn, "read", found)
        return found

    def resource_types(self) -> list[str]:
        """The types that have at least one live resource."""
        query = select(resource.c.resource_type).where(resource.c.deleted.is_(False)).distinct()
        return sorted(self.conn.execute(query).scalars())

    def iter_content(
        self,
        resource_type: str,
        *,
        since: str | None = None,
        patient_compartment: bool = False,
        hidden: HiddenLabels | None = None,
    ) -> Iterator[str]:
        """The stored JSON of every live resource of a type, by id, streamed.

        `since`: changed at or after this instant. `patient_compartment`: only patients
        and resources that refer to a patient (FHIR Bulk Data's Patient/$export).
        `hidden`: labelled records to leave out, in SQL (see export_ndjson).
        """
        c = resource.c
        query = (
            select(resource_history.c.content)
            .select_from(current)
            .where(c.resource_type == resource_type, c.deleted.is_(False))
        )
        if since:
            query = query.where(c.last_updated >= since)
        if patient_compartment and resource_type != "Patient":
            ref = INDEX_TABLES["reference"]
            query = query.where(
                c.id.in_(
                    select(ref.c.resource_id).where(
                        ref.c.resource_type == resource_type, ref.c.target_type == "Patient"
                    )
                )
            )
        if hidden:
            query = query.where(not_hidden(resource_type, hidden))
        # yield_per on the statement, not the connection: Connection.execution_options
        # changes the transaction's own connection, and on PostgreSQL every later
        # statement in it (an UPDATE) would then be sent through a server-side cursor.
        query = query.order_by(c.id).execution_options(yield_per=1000)
        yield from self.conn.execute(query).scalars()

    def exists(self, resource_type: str, resource_id: str) -> bool:
        return bool(self.live_keys([(resource_type, resource_id)]))

    def live_keys(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (type, id) keys name a stored, non-deleted resource (for a guarded
        caller: one they may see, so a reference to a hidden record is refused exactly as
        one to nothing)."""
        live = {key for key, stored in self._stored(keys).items() if not stored.deleted}
        if self.guard and live:
            views = self._views(live)
            live = {key for key in live if self.guard.visible(views[key][max(views[key])])}
        return live

    # --- writes ------------------------------------------------------------------------

    def create(self, res: dict) -> dict:
        """Store a new resource under a server-assigned id."""
        res = {**res, "id": str(uuid.uuid4())}
        return self.put_many([PutItem(res, create_only=True)])[0].resource

    def update(self, res: dict, *, if_match: int | None = None) -> WriteResult:
        """Create or update a resource under its own id (FHIR update-as-create)."""
        return self.put_many([PutItem(res, if_match=if_match)])[0]

    def put_many(self, items: Sequence[PutItem], *, validated: bool = False) -> list[WriteResult]:
        """Write a batch; a resource whose content is unchanged gets no new version.

        `validated=True` skips validation for callers that validated already (the bulk
        importer validates in worker processes).
        """
        for item in items:
            _check_identity(item.resource)
            self._check("write", item.resource["resourceType"])
            if not validated:
                validate(item.resource)
        stored = self._stored([(i.resource["resourceType"], i.resource["id"]) for i in items])
        if self.guard:
            self._guard_writes(items, stored)
        stamp = search_params.utc_now()
        results: list[WriteResult] = []
        new_rows, changed, history_rows, reindex = [], [], [], []
        seen: set[tuple[str, str]] = set()
        for item in items:
            res = item.resource
            key = (res["resourceType"], res["id"])
            if key in seen:  # FHIR forbids two entries writing one resource (transaction rules)
                raise Conflict(f"{key[0]}/{key[1]} appears more than once in one transaction")
            seen.add(key)
            old = stored.get(key)
            self._check_preconditions(key, item, old)
            form = item.stored or store_form(res)
            digest = form.digest
            if old and not old.deleted and old.content_hash == digest:
                results.append(
                    WriteResult(_with_meta(res, old.version_id, old.last_updated), "unchanged")
                )
                continue
            version = old.version_id + 1 if old else 1
            final = _with_meta(res, version, stamp)
            content = orjson.dumps(final).decode()
            if old:
                changed.append((key, version, stamp, digest, old.version_id))
            else:
                new_rows.append((key[0], key[1], version, stamp, False, digest))
            method = "update" if old else "create"
            history_rows.append((key[0], key[1], version, stamp, method, content))
            reindex.append((key, form.index, old is not None))
            results.append(WriteResult(final, "updated" if old else "created"))
        self._insert_current(new_rows)
        self._update_current(changed)
        bulk_insert(self.conn, resource_history, history_rows)
        self._reindex(reindex)
        self._written([r.resource for r in results if r.outcome in ("created", "updated")])
        if self.guard:
            for outcome in ("created", "updated", "unchanged"):
                written = [r.resource for r in results if r.outcome == outcome]
                if written:
                    action = "create" if outcome == "created" else "update"
                    self.guard.audit(
                        self.conn, action, written, "" if outcome != "unchanged" else "no change"
                    )
        return results

    def delete(
        self, resource_type: str, resource_id: str, *, if_match: int | None = None
    ) -> int | None:
        """Soft-delete: the resource reads as Gone, its history stays. Returns the
        deletion's version, or None when there was nothing live to delete."""
        self._check("delete", resource_type)
        key = (resource_type, resource_id)
        old = self._stored([key]).get(key)
        if self.guard:  # what the caller may not see answers as what is not there
            view = self._current_view(key) if old else None
            if view is None:
                raise NotFound(not_in_store(*key))
            if not self.guard.visible(view):
                raise self._hidden(key, view)
        if old is None or old.deleted:
            return None
        # The hook needs the content (whose chart it was), which a deletion no longer has.
        before = Transaction(self.conn).read(*key) if self.on_write else None
        if if_match is not None and if_match != old.version_id:
            raise VersionConflict(
                f"{resource_type}/{resource_id} is at version {old.version_id}, not {if_match}"
            )
        stamp = search_params.utc_now()
        version = old.version_id + 1
        result = self.conn.execute(
            update(resource)
            .where(
                resource.c.resource_type == resource_type,
                resource.c.id == resource_id,
                resource.c.version_id == old.version_id,
            )
            .values(version_id=version, last_updated=stamp, deleted=True)
        )
        if result.rowcount != 1:
            raise VersionConflict(f"{resource_type}/{resource_id} was changed by another writer")
        self.conn.execute(
            insert(resource_history),
            [
                {
                    "resource_type": resource_type,
                    "id": resource_id,
                    "version_id": version,
                    "last_updated": stamp,
                    "method": "delete",
                    "content": None,
                }
            ],
        )
        self._drop_index_rows([key])
        self.note("delete", [{"resourceType": resource_type, "id": resource_id}])
        if before is not None:
            self._written([before])
        return version

    # --- internals ---------------------------------------------------------------------

    def _guard_writes(
        self, items: Sequence[PutItem], stored: dict[tuple[str, str], _Stored]
    ) -> None:
        """Before any precondition is looked at (an If-Match answer would tell a version):
        a stored record the caller may not see is refused as if it were not there, and a
        label may be added or removed only by a role allowed that label."""
        assert self.guard is not None
        keys = [(i.resource["resourceType"], i.resource["id"]) for i in items]
        views = self._views(k for k in keys if k in stored)
        hidden = self.guard.hidden_labels()
        forbidden = hidden.codes if hidden else frozenset()
        for item, key in zip(items, keys, strict=True):
            before: frozenset[Label] = frozenset()
            if key in views:
                view = views[key][max(views[key])]
                if not self.guard.visible(view):
                    raise self._hidden(key, view)
                before = labels_of(view)
            changed = (before ^ labels_of(item.resource)) & forbidden
            if changed:
                names = ", ".join(code for _system, code in sorted(changed))
                raise Forbidden(
                    f"{key[0]}/{key[1]}: adding or removing the sensitivity label {names} "
                    "needs a role allowed to see it"
                )

    @staticmethod
    def _check_preconditions(key: tuple[str, str], item: PutItem, old: _Stored | None) -> None:
        name = f"{key[0]}/{key[1]}"
        live = old is not None and not old.deleted
        if item.create_only and live:
            raise Conflict(f"{name} already exists")
        if item.if_match is None:
            return
        if old is None:  # the same answer a hidden record gets: no version to compare
            raise NotFound(not_in_store(*key))
        if old.version_id != item.if_match:
            raise VersionConflict(
                f"{name} is at version {old.version_id}, not {item.if_match}: "
                "someone else changed it; read it again and reapply your change"
            )

    def _stored(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], _Stored]:
        # Grouped by type so each lookup walks the (resource_type, id) primary key.
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        found: dict[tuple[str, str], _Stored] = {}
        mark = placeholder(self.conn)
        for rtype, ids in by_type.items():
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                sql = (
                    "SELECT id, version_id, last_updated, deleted, content_hash FROM resource "
                    f"WHERE resource_type = {mark} AND id IN ({', '.join([mark] * len(chunk))})"
                )
                for rid, version, stamp, deleted, digest in self.conn.exec_driver_sql(
                    sql, (rtype, *chunk)
                ):
                    found[(rtype, rid)] = _Stored(version, stamp, bool(deleted), digest)
        return found

    def _insert_current(self, rows: list[tuple]) -> None:
        try:
            bulk_insert(self.conn, resource, rows)
        except IntegrityError as exc:
            raise VersionConflict(
                "another writer created one of these resources at the same time; retry"
            ) from exc

    def _update_current(self, changed: list[tuple]) -> None:
        c = resource.c
        for (rtype, rid), version, stamp, digest, read_version in changed:
            statement = (
                update(resource)
                .where(c.resource_type == rtype, c.id == rid, c.version_id == read_version)
                .values(version_id=version, last_updated=stamp, deleted=False, content_hash=digest)
            )
            if self.conn.execute(statement).rowcount != 1:
                raise VersionConflict(
                    f"{rtype}/{rid} was changed by another writer after version {read_version} was read"
                )

    def _drop_index_rows(self, keys: list[tuple[str, str]]) -> None:
        if not keys:
            return
        params = [{"t": t, "i": i} for t, i in keys]
        for table in INDEX_TABLES.values():
            self.conn.execute(
                delete(table).where(
                    and_(
                        table.c.resource_type == bindparam("t"),
                        table.c.resource_id == bindparam("i"),
                    )
                ),
                params,
            )

    def _reindex(
        self, written: list[tuple[tuple[str, str], search_params.IndexRows, bool]]
    ) -> None:
        self._drop_index_rows([key for key, _rows, existed in written if existed])
        for kind, table in INDEX_TABLES.items():
            bulk_insert(
                self.conn,
                table,
                [
                    (rtype, rid, *row)
                    for (rtype, rid), rows, _e in written
                    for row in getattr(rows, kind)
                ],
            )


class _CollectedAudit:
    """The caller's guard, except that audit entries are kept until `write`: reads run in
    a read transaction, which cannot hold the audit rows they cause."""

    def __init__(self, guard: Guard):
        self._guard = guard
        self._entries: list[tuple[str, Sequence[dict], str]] = []

    def __getattr__(self, name: str):
        return getattr(self._guard, name)

    def audit(
        self, conn: Connection, action: str, resources: Sequence[dict], detail: str = ""
    ) -> None:
        self._entries.append((action, list(resources), detail))

    def write(self, engine: Engine) -> None:
        if not self._entries:
            return
        _group_commit(engine).write(self._guard, self._entries)
        self._entries = []


@dataclass
class _Pending:
    guard: Guard
    entries: list[tuple[str, Sequence[dict], str]]
    done: bool = False
    error: BaseException | None = None


class _GroupCommit:
    """Group commit for the audit rows of reads: concurrent readers hand their entries in,
    one of them (the leader) writes every entry waiting in one durable transaction, and
    each reader returns once the commit holding its rows has ended (never before: no read
    is answered before its audit row is stored). Readers arriving during a commit queue
    for the next one, so under load one sync serves many reads instead of one each, and
    the write lock is taken once per group. A group that fails is written again one reader
    at a time, so one reader's fault fails only that read."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._turn = threading.Condition(threading.Lock())
        self._queue: list[_Pending] = []
        self._leading = False

    def write(self, guard: Guard, entries: list[tuple[str, Sequence[dict], str]]) -> None:
        mine = _Pending(guard, entries)
        with self._turn:
            self._queue.append(mine)
            while not mine.done:
                if self._leading:
                    self._turn.wait()
                    continue
                self._leading = True
                group, self._queue = self._queue, []
                self._turn.release()
                try:
                    self._commit(group)
                finally:
                    self._turn.acquire()
                    self._leading = False
                    self._turn.notify_all()
        if mine.error is not None:
            raise mine.error

    def _commit(self, group: list[_Pending]) -> None:
        try:
            with durable_write(self.engine) as conn:
                for pending in group:
                    for action, resources, detail in pending.entries:
                        pending.guard.audit(conn, action, resources, detail)
        except Exception as exc:
            if len(group) > 1:
                for pending in group:
                    self._commit([pending])
                return
            group[0].error = exc
        except BaseException as exc:  # interrupted: nobody waits for ever
            for pending in group:
                pending.error, pending.done = exc, True
            raise
        for pending in group:
            pending.done = True


_group_commits: weakref.WeakKeyDictionary[Engine, _GroupCommit] = weakref.WeakKeyDictionary()
_group_commits_lock = threading.Lock()


def _group_commit(engine: Engine) -> _GroupCommit:
    with _group_commits_lock:
        found = _group_commits.get(engine)
        if found is None:
            found = _group_commits[engine] = _GroupCommit(engine)
        return found


class Repository:
    """The store's front door: one per database, safe to share between threads.

    `guarded(guard)` gives a view of the same store that checks and audits every access
    for one caller; the API builds one per request.
    """

    def __init__(
        self, engine: Engine, guard: Guard | None = None, on_write: WriteHook | None = None
    ):
        self.engine = engine
        self.guard = guard
        self.on_write = on_write

    def guarded(self, guard: Guard) -> Repository:
        return Repository(self.engine, guard, self.on_write)

    def trusted(self) -> Repository:
        """The same store without the guard: for the trusted inside (reports the caller's
        route has already authorised, background jobs), never to show a record."""
        return Repository(self.engine, None, self.on_write)

    def with_write_hook(self, on_write: WriteHook) -> Repository:
        """The same store, calling `on_write(tx, resources)` after each write in its
        transaction (chart deficiencies re-evaluate this way; bulk import goes without)."""
        return Repository(self.engine, self.guard, on_write)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction: everything in the block commits together or not at all."""
        try:
            with self.engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
                yield Transaction(conn, self.guard, self.on_write)
        except ChartkeeperError as exc:
            if self.guard:
                self.guard.failed(exc)
            raise

    @contextmanager
    def reading(self) -> Iterator[Transaction]:
        """A snapshot for several reads that must agree, in a read transaction: on SQLite
        (WAL) it neither waits for a writer nor holds one up, on PostgreSQL it takes no
        write lock. A guarded caller's audit entries are collected during the reads and
        written, when the block ends, in one short write transaction of their own that
        commits durably (see engine.durable_write) before anything is returned: no read
        answers before its audit row is stored, and if it cannot be stored, the read fails.
        """
        if not self.guard:
            with self.engine.connect() as conn, conn.begin():
                yield Transaction(conn)
            return
        audits = _CollectedAudit(self.guard)
        try:
            with self.engine.connect() as conn, conn.begin():
                yield Transaction(conn, audits, self.on_write)
        except ChartkeeperError as exc:
            self.guard.failed(exc)
            raise
        audits.write(self.engine)

    def read(self, resource_type: str, resource_id: str) -> dict:
        with self.reading() as tx:
            return tx.read(resource_type, resource_id)

    def vread(self, resource_type: str, resource_id: str, version_id: int) -> dict:
        with self.reading() as tx:
            return tx.vread(resource_type, resource_id, version_id)

    def history(
        self, resource_type: str | None = None, resource_id: str | None = None, **kw
    ) -> list[dict]:
        with self.reading() as tx:
            return tx.history(resource_type, resource_id, **kw)

    def search(self, resource_type: str, params: Sequence[tuple[str, str]] = ()) -> SearchPage:
        with self.reading() as tx:
            return tx.search(resource_type, params)

    def create(self, res: dict) -> dict:
        with self.transaction() as tx:
            return tx.create(res)

    def update(self, res: dict, *, if_match: int | None = None) -> WriteResult:
        with self.transaction() as tx:
            return tx.update(res, if_match=if_match)

    def delete(
        self, resource_type: str, resource_id: str, *, if_match: int | None = None
    ) -> int | None:
        with self.transaction() as tx:
            return tx.delete(resource_type, resource_id, if_match=if_match)
