"""The registrar's screens, under /registrar: a home page with the registry's counts;
the casefinding worklist (each suspected case with its evidence, accepted or dismissed with
a reason); the abstract editor, with the pathology report beside the NAACCR items, the
failing edits listed and each overridable with a reason; the follow-up due list with the
Commission on Cancer rates; Kaplan-Meier survival as a table and a plot; NAACCR XML v26
export as a download.

Thin views over `chartkeeper.registry` and `interfaces.naaccr` (the same functions the
/registry API and `chartkeeper registry` call), through the guarded store, so every case
read or written is audited. Who may work here is `policy.WORKLISTS["cancer-registry"]`.
The API owns /registry; the screens live at /registrar.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chartkeeper.errors import BadRequest, NotFound
from chartkeeper.interfaces import naaccr
from chartkeeper.privacy.people import People
from chartkeeper.registry import abstract, casefinding, edits, followup, reference, survival
from chartkeeper.registry.classify import classify

from .coder import highlighted
from .render import redirect, render, secure
from .session import check_csrf, current_session, require_work, store

router = APIRouter(prefix="/registrar", include_in_schema=False)

WORKLIST = "cancer-registry"

# The items a registrar checks first, in the order of an abstract; the rest follow.
KEY_ITEMS = (
    "dateOfDiagnosis",
    "primarySite",
    "laterality",
    "histologicTypeIcdO3",
    "behaviorCodeIcdO3",
    "gradePathological",
    "diagnosticConfirmation",
    "sequenceNumberHospital",
    "classOfCase",
    "dateOf1stContact",
    "rxDateSurgery",
    "rxDateRadiation",
    "rxDateChemo",
    "vitalStatus",
    "dateOfLastContact",
)


def _registrar(request: Request):
    session = current_session(request)
    require_work(request, session.user, WORKLIST)
    return session


def _people(repo, cases: list[dict]) -> People:
    return People(repo, [f"Patient/{c['patient_id']}" for c in cases if c.get("patient_id")])


def _site_label(code: str | None) -> str:
    if not code or not reference.available("icdo3", "primarySite.csv"):
        return ""
    return reference.topography().get(code, "")


def _morphology_label(histology: str | None, behavior: str | None) -> str:
    if not histology or not reference.available("icdo3", "histologicTypeIcdO3_allTerms.csv"):
        return ""
    return reference.morphology_codes().get(f"{histology}/{behavior}", "")


@router.get("")
def registrar_home(request: Request) -> Response:
    _registrar(request)
    repo = store(request)
    counts = {status: len(casefinding.worklist(repo, status)) for status in casefinding.STATUSES}
    due = followup.due_list(repo)
    return render(request, "registry/home.html", counts=counts, due=len(due))


@router.post("/casefinding")
async def run_casefinding(request: Request) -> Response:
    session = _registrar(request)
    await check_csrf(request, session)
    casefinding.run(store(request), by=session.user.username)
    return redirect("/registrar/cases")


@router.get("/cases")
def cases(request: Request, status: str = "suspected") -> Response:
    _registrar(request)
    repo = store(request)
    found = casefinding.worklist(repo, status)
    people = _people(repo, found)
    rows = [
        {
            "case": c,
            "patient": people.patient(c["patient_id"]),
            "site_label": _site_label(c["primary_site"]),
            "morphology_label": _morphology_label(c["histology"], c["behavior"]),
        }
        for c in found
    ]
    return render(
        request, "registry/cases.html", rows=rows, status=status, statuses=casefinding.STATUSES
    )


@router.post("/cases/{case_id}/accept")
async def accept(request: Request, case_id: int) -> Response:
    session = _registrar(request)
    await check_csrf(request, session)
    casefinding.accept(store(request), case_id, by=session.user.username)
    return redirect(f"/registrar/cases/{case_id}")


@router.post("/cases/{case_id}/dismiss")
async def dismiss(request: Request, case_id: int) -> Response:
    session = _registrar(request)
    form = await check_csrf(request, session)
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise BadRequest("say why the case is dismissed (the reason is kept with it)")
    casefinding.dismiss(store(request), case_id, by=session.user.username, reason=reason)
    return redirect("/registrar/cases")


def _reports(repo, case: dict) -> list[dict]:
    """The case's pathology reports, each with the classifier's evidence marked."""
    shown = []
    for entry in case["evidence"]:
        rtype, _, rid = (entry.get("reference") or "").partition("/")
        if rtype not in ("DiagnosticReport", "DocumentReference"):
            shown.append({"title": entry.get("reference"), "entry": entry, "html": None})
            continue
        try:
            resource = repo.read(rtype, rid)
        except NotFound:
            shown.append({"title": entry.get("reference"), "entry": entry, "html": None})
            continue
        text = casefinding.report_text(resource)
        spans = [(e.start, e.end, e.field, "suggested") for e in classify(text).evidence]
        title = ((resource.get("code") or resource.get("type") or {}).get("text")) or rtype
        shown.append(
            {
                "title": title,
                "date": resource.get("effectiveDateTime") or resource.get("date") or "",
                "entry": entry,
                "html": highlighted(text, spans) if text else None,
            }
        )
    return shown


def _item_rows(items: dict[str, str]) -> list[dict]:
    names = {}
    if reference.available("naaccr", "naaccr-dictionary-260.xml"):
        names = {k: v.name for k, v in reference.naaccr_dictionary().items.items()}
    order = [k for k in KEY_ITEMS] + sorted(k for k in items if k not in KEY_ITEMS)
    return [{"id": k, "name": names.get(k, k), "value": items.get(k, "")} for k in order]


@router.get("/cases/{case_id}")
def case_screen(request: Request, case_id: int) -> Response:
    _registrar(request)
    repo = store(request)
    case = casefinding.get(repo, case_id)
    items = abstract.public_items(case)
    failing = edits.run(items, case["overrides"]) if case["status"] != "suspected" else []
    people = _people(repo, [case])
    return render(
        request,
        "registry/case.html",
        case=case,
        patient=people.patient(case["patient_id"]),
        site_label=_site_label(case["primary_site"]),
        morphology_label=_morphology_label(case["histology"], case["behavior"]),
        items=_item_rows(items),
        edits=failing,
        reports=_reports(repo, case),
    )


@router.post("/cases/{case_id}/items")
async def save_items(request: Request, case_id: int) -> Response:
    session = _registrar(request)
    form = await check_csrf(request, session)
    repo = store(request)
    current = abstract.public_items(casefinding.get(repo, case_id))
    changes = {}
    for key, value in form.multi_items():
        if not key.startswith("item:"):
            continue
        item, value = key[5:], str(value).strip()
        if value != current.get(item, ""):
            changes[item] = value
    new_item, new_value = str(form.get("new_item", "")).strip(), str(form.get("new_value", ""))
    if new_item:
        changes[new_item] = new_value.strip()
    if changes:
        abstract.edit_items(repo, case_id, changes, by=session.user.username)
    return redirect(f"/registrar/cases/{case_id}#edits")


@router.post("/cases/{case_id}/overrides")
async def override(request: Request, case_id: int) -> Response:
    session = _registrar(request)
    form = await check_csrf(request, session)
    abstract.override(
        store(request),
        case_id,
        str(form.get("edit", "")),
        str(form.get("reason", "")),
        by=session.user.username,
    )
    return redirect(f"/registrar/cases/{case_id}#edits")


@router.post("/cases/{case_id}/complete")
async def complete(request: Request, case_id: int) -> Response:
    session = _registrar(request)
    await check_csrf(request, session)
    abstract.complete(store(request), case_id, by=session.user.username)
    return redirect(f"/registrar/cases/{case_id}")


# --- follow-up and survival ----------------------------------------------------------------


@router.get("/followup")
def follow_up(request: Request) -> Response:
    _registrar(request)
    repo = store(request)
    due = followup.due_list(repo)
    people = People(repo, [f"Patient/{r.patient_id}" for r in due])
    rows = [{"r": r, "patient": people.patient(r.patient_id)} for r in due]
    return render(request, "registry/followup.html", rows=rows, rates=followup.rates(repo))


_GROUPS = ("site", "stage", "site-stage")


@router.get("/survival")
def survival_screen(request: Request, by: str = "site") -> Response:
    _registrar(request)
    if by not in _GROUPS:
        raise BadRequest(f"group survival by {' or '.join(_GROUPS)}")
    found = survival.from_registry(store(request), by=by)
    groups = survival.kaplan_meier(found) if found else []
    return render(request, "registry/survival.html", groups=groups, by=by, groupings=_GROUPS)


@router.get("/survival.png")
def survival_png(request: Request, by: str = "site") -> Response:
    _registrar(request)
    if by not in _GROUPS:
        raise BadRequest(f"group survival by {' or '.join(_GROUPS)}")
    found = survival.from_registry(store(request), by=by)
    if not found:
        raise BadRequest("no cases with a diagnosis date and a last contact yet")
    png = survival.plot(found, f"Observed survival by {by}")
    response = Response(png, media_type="image/png")
    return secure(response)


# --- NAACCR export ---------------------------------------------------------------------------


@router.get("/export")
def export_screen(request: Request) -> Response:
    _registrar(request)
    repo = store(request)
    counts = {s: len(casefinding.worklist(repo, s)) for s in ("complete", "abstracting")}
    return render(request, "registry/export.html", counts=counts)


@router.get("/export.xml")
def export_xml(request: Request, record_type: str = "A", include: str = "") -> Response:
    _registrar(request)
    if record_type not in ("A", "I"):
        raise BadRequest("record type A (full case) or I (confidential) only")
    statuses = ("complete", "abstracting") if include == "abstracting" else ("complete",)
    repo = store(request)
    content, count = naaccr.export_cases(repo, record_type=record_type, statuses=statuses)
    with repo.transaction() as tx:
        tx.note(
            "registry-export",
            [],
            f"NAACCR XML record type {record_type} from the workbench: {count} tumours",
        )
    name = f"naaccr-{record_type}-{date.today().isoformat()}.xml"
    response = Response(
        content,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    return secure(response)
