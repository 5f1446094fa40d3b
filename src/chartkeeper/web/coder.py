"""The coder's worklists: the coding queue; an encounter's coding screen (its notes with the
computer-assisted suggestions' evidence highlighted, an as-you-type encoder box, the codes,
their edits, the MS-DRG with its reasons, and the claim); physician queries; DNFB and
productivity with a plot. Thin views over `coding.workflow`, `coding.cac`, `coding.search`,
`coding.edits`, `coding.drg` and `coding.claims`, through the guarded store."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from chartkeeper.coding import cac, search, workflow
from chartkeeper.coding.claims import review_coded_stay
from chartkeeper.coding.drg import read_coded_stay
from chartkeeper.errors import BadRequest
from chartkeeper.privacy.people import People

from .render import redirect, render, secure
from .session import check_csrf, current_session, require_work, store

router = APIRouter(prefix="/coder", include_in_schema=False)


def _coder(request: Request, worklist: str = "coding"):
    session = current_session(request)
    require_work(request, session.user, worklist)
    return session


@router.get("")
def coding_queue(request: Request) -> Response:
    _coder(request)
    repo = store(request)
    items = workflow.queue(repo)
    people = People(repo, [f"Patient/{i.patient_id}" for i in items if i.patient_id])
    rows = [{"i": i, "patient": people.patient(i.patient_id)} for i in items]
    return render(request, "coding_queue.html", rows=rows)


def highlighted(text: str, spans: list[tuple[int, int, str, str]]) -> Markup:
    """The note with each evidence span in <mark> (escaped text, spans never overlapping)."""
    out, at = [], 0
    for start, end, code, status in sorted(spans):
        if start < at:
            continue
        out.append(escape(text[at:start]))
        out.append(Markup('<mark class="ev-{}" title="{}">').format(status, code))
        out.append(escape(text[start:end]))
        out.append(Markup("</mark>"))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


@router.get("/encounters/{encounter_id}")
def coding_screen(request: Request, encounter_id: str) -> Response:
    _coder(request)
    repo = store(request)
    data_dir = request.app.state.settings.data_dir
    with repo.reading() as tx:  # one snapshot (and one audit write) for the stay and notes
        stay = read_coded_stay(tx, encounter_id)
        docs = cac.encounter_documents(tx, encounter_id)
    encounter, patient = stay.encounter, stay.patient
    # cac.suggest over the notes already read (it would read the encounter and notes again)
    suggestions = cac.suggest_documents(
        [(d["id"], text) for d in docs if (text := cac.note_text(d)) is not None],
        inpatient=cac.is_inpatient(encounter),
        when=cac.service_date(encounter),
        data_dir=data_dir,
    )
    spans: dict[str, list] = {}
    for s in suggestions:
        for ev in s.evidence:
            spans.setdefault(ev.document, []).append((ev.start, ev.end, s.code, ev.status))
    notes = []
    for d in docs:
        text = cac.note_text(d)
        notes.append(
            {
                "id": d["id"],
                "title": (((d.get("type") or {}).get("coding") or [{}])[0]).get("display", "Note"),
                "date": d.get("date", ""),
                "html": highlighted(text, spans.get(d["id"], [])) if text else None,
            }
        )
    coded = [code for _, code, _ in stay.diagnoses]
    outcome = review_coded_stay(repo, stay, data_dir) if coded else None
    people = People(
        repo,
        [f"Patient/{patient['id']}"]
        + [(p.get("individual") or {}).get("reference") for p in encounter.get("participant", [])],
    )
    providers = [
        (ref, people.name(ref))
        for ref in dict.fromkeys(
            (p.get("individual") or {}).get("reference") for p in encounter.get("participant", [])
        )
        if ref and ref.startswith("Practitioner/")
    ]
    queries = workflow.list_queries(repo, encounter_id=encounter_id)
    return render(
        request,
        "coding_screen.html",
        encounter=encounter,
        patient=people.patient(patient["id"]),
        notes=notes,
        suggestions=suggestions,
        inpatient=cac.is_inpatient(encounter),
        diagnoses=stay.diagnoses,
        procedures=stay.procedures,
        outcome=outcome,
        providers=providers,
        queries=queries,
        people=people,
        suggested=[
            s.code for s in suggestions if s.status == "suggested" and s.kind == "diagnosis"
        ],
    )


@router.post("/encounters/{encounter_id}/codes")
async def assign(request: Request, encounter_id: str) -> Response:
    session = _coder(request)
    form = await check_csrf(request, session)
    diagnoses = workflow.codes_from_text(str(form.get("diagnoses", "")), "diagnosis")
    codes = diagnoses + workflow.codes_from_text(str(form.get("procedures", "")), "procedure")
    workflow.assign_codes(
        store(request),
        encounter_id,
        codes,
        coder=session.user.username,
        principal=diagnoses[0]["code"] if diagnoses else None,
        data_dir=request.app.state.settings.data_dir,
    )
    return redirect(f"/coder/encounters/{encounter_id}#outcome")


@router.post("/encoder")
async def encoder(request: Request) -> Response:
    """The encoder box: billable codes for what the coder types (a fragment for htmx, or a
    whole page without JavaScript). Code sets hold no PHI, yet the text goes by POST."""
    session = _coder(request)
    form = await check_csrf(request, session)
    text = str(form.get("statement", "")).strip()
    hits = []
    if text:
        if len(text) > 500:
            raise BadRequest("a statement of at most 500 characters")
        hits = search.find(
            text, limit=8, data_dir=request.app.state.settings.data_dir, with_notes=False
        )
    template = "_encoder_hits.html" if request.headers.get("HX-Request") else "encoder.html"
    return render(request, template, hits=hits, statement=text)


# --- physician queries -----------------------------------------------------------------------


@router.get("/queries")
def queries(request: Request, status: str = "open") -> Response:
    _coder(request, "physician-queries")
    repo = store(request)
    found = workflow.list_queries(repo, status=status or None)
    people = People(
        repo,
        [f"Patient/{q.patient_id}" for q in found if q.patient_id]
        + [q.practitioner for q in found],
    )
    rows = [
        {"q": q, "patient": people.patient(q.patient_id), "to": people.name(q.practitioner)}
        for q in found
    ]
    return render(request, "queries.html", rows=rows, status=status)


@router.post("/encounters/{encounter_id}/queries")
async def ask(request: Request, encounter_id: str) -> Response:
    session = _coder(request)
    form = await check_csrf(request, session)
    workflow.open_query(
        store(request),
        encounter_id,
        str(form.get("practitioner", "")),
        str(form.get("question", "")),
        asked_by=session.user.username,
    )
    return redirect(f"/coder/encounters/{encounter_id}#queries")


@router.post("/queries/{query_id}/{action}")
async def close_query(request: Request, query_id: int, action: str) -> Response:
    session = _coder(request, "physician-queries")
    form = await check_csrf(request, session)
    repo, by = store(request), session.user.username
    if action == "answer":
        workflow.answer_query(repo, query_id, str(form.get("answer", "")), by=by)
    elif action == "withdraw":
        require_work(request, session.user, "coding")
        workflow.withdraw_query(repo, query_id, by=by)
    else:
        raise BadRequest(f"unknown action {action!r}")
    return redirect("/coder/queries")


# --- DNFB and productivity -------------------------------------------------------------------


@router.get("/dnfb")
def dnfb(request: Request) -> Response:
    _coder(request)
    repo = store(request)
    report = workflow.dnfb(repo)
    productivity = workflow.productivity(repo)
    return render(request, "dnfb.html", report=report, productivity=productivity)


@router.get("/productivity.png")
def productivity_chart(request: Request) -> Response:
    _coder(request)
    png = workflow.plot_productivity(workflow.productivity(store(request)))
    response = Response(png, media_type="image/png")
    response.headers["Cache-Control"] = "no-store"
    return secure(response)
