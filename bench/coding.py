"""Coding benchmark. Part 1, the encoder: top-1/top-5 accuracy and queries per second on
(a) HEADLINE, statements built by `coding_index_set.py` from the CMS ICD-10-CM FY2025
Alphabetic Index, Neoplasm Table and Drug Table (public domain, CDC/NCHS
`icd10cm-table-index-April-2025.zip`; see ../shared/data/reference/icd10cm-2025/README.md),
phrased like clinicians write by a script with a fixed seed, reported on its `test` half;
(b) the `self-written` everyday-wording set below. Each is run through the index-driven
encoder (the CMS files imported into the data dir) and, as the baseline in the same process,
through the tabular search alone. Part 2, computer-assisted coding: precision and recall of
suggested diagnosis codes on synthetic encounters (the generator's encounter Conditions are
the truth; its notes mention them), at the full-code and the 3-character category level.

    python bench/coding.py                 # data dir ./data; imports the CMS index once
    python bench/coding.py --data-dir /tmp/ck --misses   # misses of the dev half only
    python bench/coding.py --patients 100  # CAC sample size (default 60)

The self-written statements below are written the way clinicians write problem lists and assessments
(abbreviations, eponyms, lay terms, inverted word order, misspellings), each with the
ICD-10-CM FY2026 code a coder would assign from the statement alone (default 7th character
"A" for injuries, unspecified side where none is given). They were written from clinical
coding knowledge, separately from `chartkeeper.coding.lexicon`, and none is a lexicon entry.
Each part is one function returning a dict; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # coding_index_set beside this script
CMS_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "reference" / "icd10cm-2025"
if not CMS_DIR.is_dir():
    CMS_DIR = Path("/work/shared/data/reference/icd10cm-2025")

STATEMENTS: list[tuple[str, str]] = [
    ("CHF exacerbation", "I50.9"),
    ("acute on chronic systolic CHF", "I50.23"),
    ("chronic diastolic heart failure", "I50.32"),
    ("HFrEF", "I50.20"),
    ("essential HTN", "I10"),
    ("benign hypertension", "I10"),
    ("hypertensive heart disease with heart failure", "I11.0"),
    ("T2DM without complications", "E11.9"),
    ("type 2 diabetes with hyperglycemia", "E11.65"),
    ("DM2 w/ diabetic nephropathy", "E11.21"),
    ("type 1 diabetic with ketoacidosis", "E10.10"),
    ("type 2 DM with diabetic polyneuropathy", "E11.42"),
    ("diabetes mellitus type II", "E11.9"),
    ("COPD, unspecified", "J44.9"),
    ("acute exacerbation of COPD", "J44.1"),
    ("mild intermittent asthma", "J45.20"),
    ("moderate persistent asthma with acute exacerbation", "J45.41"),
    ("community acquired pneumonia", "J18.9"),
    ("lobar pneumonia", "J18.1"),
    ("acute bronchitis", "J20.9"),
    ("acute sinusitis", "J01.90"),
    ("strep pharyngitis", "J02.0"),
    ("influenza with pneumonia", "J11.00"),
    ("allergic rhinitis", "J30.9"),
    ("paroxysmal afib", "I48.0"),
    ("persistent atrial fibrillation", "I48.19"),
    ("atrial flutter", "I48.92"),
    ("NSTEMI, initial episode", "I21.4"),
    ("acute inferior wall STEMI", "I21.19"),
    ("remote myocardial infarction", "I25.2"),
    ("CAD of native coronary artery", "I25.10"),
    ("CAD with unstable angina", "I25.110"),
    ("unstable angina", "I20.0"),
    ("sinus bradycardia", "R00.1"),
    ("supraventricular tachycardia", "I47.10"),
    ("complete heart block", "I44.2"),
    ("new LBBB on EKG", "I44.7"),
    ("acute DVT of left femoral vein", "I82.412"),
    ("acute pulmonary embolus", "I26.99"),
    ("varicose veins of right leg", "I83.91"),
    ("peripheral arterial disease of the legs", "I73.9"),
    ("AAA without rupture", "I71.40"),
    ("cardiomyopathy", "I42.9"),
    ("aortic stenosis", "I35.0"),
    ("mitral regurgitation", "I34.0"),
    ("acute pericarditis", "I30.9"),
    ("acute ischemic stroke", "I63.9"),
    ("episode of TIA yesterday", "G45.9"),
    ("hemorrhagic stroke", "I61.9"),
    ("migraine without aura", "G43.009"),
    ("tension-type headaches", "G44.209"),
    ("epilepsy", "G40.909"),
    ("Parkinson's disease", "G20.A1"),
    ("Alzheimer's disease", "G30.9"),
    ("Bell's palsy", "G51.0"),
    ("carpal tunnel syndrome right wrist", "G56.01"),
    ("sciatica, left side", "M54.32"),
    ("low back pain", "M54.50"),
    ("neck pain", "M54.2"),
    ("OA of right knee", "M17.11"),
    ("bilateral knee osteoarthritis", "M17.0"),
    ("rheumatoid arthritis", "M06.9"),
    ("gout", "M10.9"),
    ("osteoporosis", "M81.0"),
    ("lumbar disc herniation", "M51.26"),
    ("rotator cuff tear right shoulder", "M75.101"),
    ("plantar fasciitis", "M72.2"),
    ("fibromyalgia", "M79.7"),
    ("GERD with esophagitis", "K21.00"),
    ("peptic ulcer disease", "K27.9"),
    ("acute appendicitis", "K35.80"),
    ("cholelithiasis", "K80.20"),
    ("acute cholecystitis", "K81.0"),
    ("acute pancreatitis", "K85.90"),
    ("diverticulitis of colon", "K57.32"),
    ("diverticulosis", "K57.90"),
    ("IBS with diarrhea", "K58.0"),
    ("Crohn's disease", "K50.90"),
    ("ulcerative colitis", "K51.90"),
    ("constipation", "K59.00"),
    ("hemorrhoids", "K64.9"),
    ("alcoholic cirrhosis", "K70.30"),
    ("hepatic steatosis", "K76.0"),
    ("inguinal hernia", "K40.90"),
    ("umbilical hernia", "K42.9"),
    ("GI bleed", "K92.2"),
    ("acute cystitis", "N30.00"),
    ("acute pyelonephritis", "N10"),
    ("renal calculus", "N20.0"),
    ("acute kidney injury", "N17.9"),
    ("CKD stage 4", "N18.4"),
    ("ESRD on dialysis", "N18.6"),
    ("BPH with LUTS", "N40.1"),
    ("erectile dysfunction", "N52.9"),
    ("hydronephrosis", "N13.30"),
    ("urinary incontinence", "R32"),
    ("hematuria", "R31.9"),
    ("hypothyroidism", "E03.9"),
    ("hyperthyroidism", "E05.90"),
    ("Hashimoto's disease", "E06.3"),
    ("hyperlipidemia", "E78.5"),
    ("pure hypercholesterolemia", "E78.00"),
    ("obesity", "E66.9"),
    ("class 3 obesity", "E66.813"),
    ("vitamin D deficiency", "E55.9"),
    ("B12 deficiency anemia", "D51.9"),
    ("iron deficiency anemia", "D50.9"),
    ("anemia", "D64.9"),
    ("anemia in CKD", "D63.1"),
    ("thrombocytopenia", "D69.6"),
    ("hypokalemia", "E87.6"),
    ("hyponatremia", "E87.1"),
    ("hyperkalemia", "E87.5"),
    ("hypoglycemia", "E16.2"),
    ("prediabetes", "R73.03"),
    ("dehydration", "E86.0"),
    ("major depression, recurrent, moderate", "F33.1"),
    ("MDD single episode", "F32.9"),
    ("generalized anxiety disorder", "F41.1"),
    ("panic disorder", "F41.0"),
    ("bipolar disorder", "F31.9"),
    ("schizophrenia", "F20.9"),
    ("chronic PTSD", "F43.12"),
    ("ADHD combined type", "F90.2"),
    ("alcohol dependence, uncomplicated", "F10.20"),
    ("nicotine dependence, cigarettes", "F17.210"),
    ("insomnia", "G47.00"),
    ("OSA on CPAP", "G47.33"),
    ("cellulitis of left lower leg", "L03.116"),
    ("abscess of right axilla", "L02.411"),
    ("psoriasis", "L40.9"),
    ("atopic dermatitis", "L20.9"),
    ("contact dermatitis", "L25.9"),
    ("acne", "L70.9"),
    ("herpes zoster", "B02.9"),
    ("stage 2 pressure ulcer of sacral region", "L89.152"),
    ("urticaria", "L50.9"),
    ("conjunctivitis", "H10.9"),
    ("cataract", "H26.9"),
    ("glaucoma", "H40.9"),
    ("otitis media, right ear", "H66.91"),
    ("impacted cerumen left ear", "H61.22"),
    ("benign paroxysmal positional vertigo", "H81.10"),
    ("fracture of left distal radius", "S52.502A"),
    ("closed fracture of right hip", "S72.001A"),
    ("right ankle sprain", "S93.401A"),
    ("concussion without loss of consciousness", "S06.0X0A"),
    ("laceration of scalp", "S01.01XA"),
    ("sepsis", "A41.9"),
    ("C diff colitis", "A04.72"),
    ("HIV disease", "B20"),
    ("chronic hepatitis C", "B18.2"),
    ("COVID-19", "U07.1"),
    ("left breast cancer", "C50.912"),
    ("prostate cancer", "C61"),
    ("lung cancer", "C34.90"),
    ("colon cancer", "C18.9"),
    ("history of breast cancer", "Z85.3"),
    ("supervision of normal pregnancy, first trimester", "Z34.91"),
    ("gestational diabetes, diet controlled", "O24.410"),
    ("preeclampsia", "O14.90"),
    ("physiologic neonatal jaundice", "P59.9"),
    ("pleuritic chest pain", "R07.81"),
    ("syncope", "R55"),
    ("dyspnea", "R06.00"),
    ("chronic cough", "R05.3"),
    ("fever of unknown origin", "R50.9"),
    ("nausea and vomiting", "R11.2"),
    ("epigastric pain", "R10.13"),
    ("dizziness", "R42"),
    ("generalized weakness", "R53.1"),
    ("dysuria", "R30.0"),
    ("long term use of insulin", "Z79.4"),
    ("long-term anticoagulant use", "Z79.01"),
    ("status post CABG", "Z95.1"),
    ("family history of colon cancer", "Z80.0"),
    ("screening colonoscopy", "Z12.11"),
    ("annual physical exam, adult", "Z00.00"),
    ("well child check", "Z00.129"),
    ("allergy to penicillin", "Z88.0"),
    ("BMI 35", "Z68.35"),
    ("congestive heart faliure", "I50.9"),
    ("pnemonia", "J18.9"),
    ("hypertenshion", "I10"),
    ("artrial fibrillation", "I48.91"),
    ("osteoarthritis of hips, bilateral", "M16.0"),
    ("fracture, femoral neck, left", "S72.002A"),
    ("failure, kidney, acute", "N17.9"),
    ("urinary tract infections", "N39.0"),
]


def ensure_index(data_dir: Path, index_dir: Path = CMS_DIR) -> bool:
    """Import the CMS FY2025 index books into `data_dir` once; False when not present."""
    from chartkeeper.coding import alphabetic
    from chartkeeper.coding.cms_files import import_releases

    if alphabetic.stored_years(data_dir):
        return True
    files = sorted(index_dir.glob("*.xml"))
    if not files:
        return False
    start = time.perf_counter()
    import_releases(files, data_dir)
    print(f"imported {len(files)} CMS index files in {time.perf_counter() - start:.1f} s")
    return True


def _score(rows, find) -> tuple[dict, list]:
    top1 = top5 = 0
    misses = []
    start, cpu = time.perf_counter(), time.process_time()
    for query, code in rows:
        codes = find(query)
        top1 += bool(codes) and codes[0] == code
        top5 += code in codes
        if codes[:1] != [code]:
            misses.append((query, code, codes))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    n = len(rows) or 1
    result = {
        "statements": len(rows),
        "top1": round(top1 / n, 3),
        "top5": round(top5 / n, 3),
        "queries_per_s": round(n / elapsed, 1),
        # the 2 cores are shared: queries per second of this process's own CPU time too
        "queries_per_cpu_s": round(n / cpu, 1) if cpu else None,
    }
    return result, misses


def search_part(data_dir: Path, show_misses: bool = False, n_index: int = 1200) -> dict:
    from chartkeeper.coding import codesets, lookup, search

    cs = codesets.load(data_dir=data_dir)
    bad = [(q, c) for q, c in STATEMENTS if not cs.is_billable(c)]
    assert not bad, f"expected codes not billable in FY{cs.fy}: {bad}"
    tabular = search.index_for(cs, data_dir)  # build/load once, outside the timing
    have_index = ensure_index(data_dir)
    if have_index:
        lookup.for_year(cs.fy, data_dir)

    def encoder(query: str) -> list[str]:
        hits = search.find(query, data_dir=data_dir, limit=5, with_notes=False)
        return [h.code for h in hits]

    def baseline(query: str) -> list[str]:  # the tabular search alone, 7th character "A"
        out = []
        for code, _s, _p in tabular.find(query, 5):
            out.append(cs.full_code(code, "A") if cs.seventh_characters(code) else code)
        return out

    sets: dict[str, list] = {"self-written": STATEMENTS}
    if have_index:
        from coding_index_set import build

        built = build(CMS_DIR, n_index)
        sets["index-phrased (test)"] = [(t, c) for t, c, _ in built["test"]]
        sets["index-phrased (dev)"] = [(t, c) for t, c, _ in built["dev"]]
    result: dict = {"index_imported": have_index}
    for name, rows in sets.items():
        got, misses = _score(rows, encoder)
        base, _ = _score(rows, baseline)
        key = name.split()[0].replace("-", "_") + ("_dev" if "dev" in name else "")
        result[key] = {**got, "baseline_tabular": base}
        print(
            f"search [{name}]: {got['statements']} statements, top-1 {got['top1']:.3f}, "
            f"top-5 {got['top5']:.3f}, {got['queries_per_s']:.0f} queries/s "
            f"({got['queries_per_cpu_s']:.0f} per CPU-second) "
            f"(tabular search alone: top-1 {base['top1']:.3f}, top-5 {base['top5']:.3f}, "
            f"{base['queries_per_s']:.0f} q/s)"
        )
        if show_misses and "test" not in name:
            for query, code, codes in misses:
                print(f"  miss {query!r}: want {code}, got {codes}")
    return result


def _ref_id(ref: str) -> str:
    return ref.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def cac_part(data_dir: Path, patients: int = 60, seed: int = 11, show_misses: bool = False) -> dict:
    from chartkeeper.coding import cac
    from chartkeeper.synth import generate

    truth: dict[str, set[str]] = {}
    docs: dict[str, list[tuple[str, str]]] = {}
    encounters: dict[str, dict] = {}
    chart: dict[str, set[str]] = {}  # every ICD-10-CM code on the patient's record
    for bundle in generate(patients, seed=seed):
        for entry in bundle.get("entry", []):
            res = entry["resource"]
            rtype = res["resourceType"]
            if rtype == "Encounter":
                encounters[res["id"]] = res
            elif rtype == "Condition" and "encounter" in res:
                codes = [
                    c["code"]
                    for c in res["code"].get("coding", [])
                    if c.get("system") == "http://hl7.org/fhir/sid/icd-10-cm"
                ]
                truth.setdefault(_ref_id(res["encounter"]["reference"]), set()).update(codes)
                chart.setdefault(_ref_id(res["subject"]["reference"]), set()).update(codes)
            elif rtype == "DocumentReference":
                text = cac.note_text(res)
                for ref in res.get("context", {}).get("encounter", []):
                    if text:
                        docs.setdefault(_ref_id(ref["reference"]), []).append((res["id"], text))
    counts = {"full": [0, 0, 0], "category": [0, 0, 0]}  # true positives, suggested, truth
    on_chart = 0  # suggestions not on the encounter but on the patient's record
    start = time.perf_counter()
    scored = 0
    for enc_id, notes in docs.items():
        if enc_id not in truth or enc_id not in encounters:
            continue
        enc = encounters[enc_id]
        found = cac.suggest_documents(
            notes, inpatient=cac.is_inpatient(enc), when=cac.service_date(enc), data_dir=data_dir
        )
        got = {s.code for s in found if s.status == "suggested" and s.kind == "diagnosis"}
        want = truth[enc_id]
        scored += 1
        on_chart += len((got - want) & chart.get(_ref_id(enc["subject"]["reference"]), set()))
        for level, cut in (("full", None), ("category", 3)):
            g, w = {c[:cut] for c in got}, {c[:cut] for c in want}
            counts[level][0] += len(g & w)
            counts[level][1] += len(g)
            counts[level][2] += len(w)
        if show_misses and got != want:
            print(f"  cac {enc_id}: missed {sorted(want - got)}, extra {sorted(got - want)}")
    elapsed = time.perf_counter() - start

    def ratio(a: int, b: int) -> float:
        return round(a / b, 3) if b else 0.0

    result = {
        "cac_encounters": scored,
        "cac_precision": ratio(counts["full"][0], counts["full"][1]),
        "cac_recall": ratio(counts["full"][0], counts["full"][2]),
        "cac_precision_category": ratio(counts["category"][0], counts["category"][1]),
        "cac_recall_category": ratio(counts["category"][0], counts["category"][2]),
        # the generator links chronic conditions to the visit that diagnosed them, while the
        # notes of later visits assess them too (Section IV.J codes them): precision counting
        # a suggestion that is on the patient's record as right
        "cac_precision_chart": ratio(counts["full"][0] + on_chart, counts["full"][1]),
        "cac_encounters_per_s": round(scored / elapsed, 1) if elapsed else 0.0,
    }
    print(
        f"cac: {scored} encounters, full code P {result['cac_precision']:.3f} "
        f"R {result['cac_recall']:.3f}; category P {result['cac_precision_category']:.3f} "
        f"R {result['cac_recall_category']:.3f}; on the record P "
        f"{result['cac_precision_chart']:.3f}; {result['cac_encounters_per_s']:.0f} enc/s"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--misses", action="store_true", help="print the statements missed")
    parser.add_argument("--patients", type=int, default=60, help="synthetic patients for CAC")
    parser.add_argument("--no-cac", action="store_true", help="the encoder part only")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    result = search_part(args.data_dir, args.misses)
    if not args.no_cac:
        result.update(cac_part(args.data_dir, args.patients, show_misses=args.misses))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
