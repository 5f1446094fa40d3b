"""Text of surgical pathology reports, for biopsies and resections of a `Case`.

Kept apart from the case logic (pathology.py) because it is mostly prose: the gross and
microscopic descriptions per site, and the synoptic final diagnosis.
"""

from __future__ import annotations

import random
from datetime import datetime

from ..facility import Practitioner
from ..model import Person
from .pathology import Case

_GROSS_BIOPSY = {
    "breast": 'Received in formalin labeled with the patient\'s name and "{organ}" are {n} '
    "tan-white cores of fibrofatty tissue ranging from 0.9 to 1.8 cm in length and "
    "0.1 cm in diameter. Entirely submitted in cassette A1.",
    "prostate": "Received in twelve formalin-filled containers labeled A through L (left and "
    "right base, mid, apex, medial and lateral) are tan needle cores measuring 0.8 "
    "to 1.7 cm each. Each container is entirely submitted in a separate cassette.",
    "colon": 'Received in formalin labeled "sigmoid colon mass" are {n} tan-pink soft tissue '
    "fragments measuring 0.2 to 0.5 cm in aggregate. Entirely submitted in A1.",
    "lung": 'Received in formalin labeled "{organ}, transbronchial biopsy" are {n} tan-gray '
    "fragments of soft tissue measuring 0.1 to 0.3 cm. Entirely submitted in A1.",
}

_GROSS_RESECTION = (
    "Received fresh is a {procedure} specimen measuring {a:.1f} x {b:.1f} x {c:.1f} cm, "
    "oriented with sutures. The surgical margins are inked. Serial sectioning reveals a firm, "
    "gray-white, ill-defined lesion measuring {size:.1f} cm in greatest dimension. Lymph "
    "nodes are dissected from the surrounding tissue. Representative sections are submitted "
    "in cassettes A1 through A{cassettes}."
)

_MICRO = {
    ("breast", "invasive"): "Sections show an infiltrating carcinoma composed of nests, cords "
    "and single cells with moderate nuclear pleomorphism, tubule formation in less than 75% "
    "of the tumor and scattered mitotic figures, set in a desmoplastic stroma. Associated "
    "ductal carcinoma in situ is present. No lymphovascular invasion is identified.",
    ("breast", "in situ"): "Sections show ducts expanded by a monotonous proliferation of "
    "atypical epithelial cells in solid and cribriform patterns with central necrosis. "
    "Myoepithelial cells are retained around all involved ducts. No stromal invasion is "
    "identified on multiple levels.",
    ("prostate", "invasive"): "Sections show crowded, small to medium-sized infiltrative glands "
    "lined by a single cell layer with enlarged nuclei, prominent nucleoli and intraluminal "
    "blue mucin. Basal cells are absent. Perineural invasion is identified.",
    ("colon", "invasive"): "Sections show an invasive adenocarcinoma composed of irregular, "
    "back-to-back glands lined by tall columnar cells with elongated, stratified, "
    "hyperchromatic nuclei and luminal dirty necrosis, infiltrating a desmoplastic stroma.",
    ("colon", "benign"): "Sections show a polypoid fragment of colonic mucosa with crowded "
    "tubular glands lined by cells with elongated, pencillate, hyperchromatic nuclei and "
    "mucin depletion. There is no high-grade dysplasia and no invasive carcinoma.",
    ("lung", "invasive"): "Sections show a malignant epithelial neoplasm infiltrating lung "
    "parenchyma with associated desmoplasia and a lymphocytic infiltrate. The tumor cells have "
    "enlarged, pleomorphic nuclei and prominent nucleoli.",
}

_BEHAVIOR = {
    "invasive": "BEHAVIOR: Malignant, invasive (primary site). Reportable neoplasm.",
    "in situ": "BEHAVIOR: Malignant, in situ (non-invasive). No invasive carcinoma identified.",
    "benign": "BEHAVIOR: Benign. Negative for high-grade dysplasia and malignancy.",
}


def _organ_key(case: Case) -> str:
    return case.site.key.split("_")[0]


def _diagnosis(case: Case, specimen: str, resection: bool) -> list[str]:
    lines = [f"{specimen}:", f"  - {case.histology.upper()}", f"  - Grade: {case.grade}"]
    if resection and case.behavior != "benign":
        lines.append(f"  - Tumor size: {case.size_cm:.1f} cm in greatest dimension")
        lines.append(f"  - Margins: {case.margin}")
        lines.append(f"  - Regional lymph nodes: {case.nodes}")
        lines.append(f"  - Pathologic stage (AJCC 8th edition): {case.stage}")
    elif case.behavior == "benign":
        lines.append(f"  - Margins: {case.margin}")
    else:
        lines.append("  - Margins: Not applicable (biopsy specimen)")
    if case.markers:
        lines.append(f"  - Ancillary studies: {case.markers}")
    return lines


_NODE_STATIONS = {
    "breast": "Left axillary sentinel lymph node",
    "prostate": "Bilateral pelvic lymph nodes",
    "colon": "Pericolic lymph nodes",
    "lung": "Lymph node, station 7 (subcarinal)",
}


def _variety(case: Case, resection: bool, procedure: str, accession: str) -> list[str]:
    """What real reports add: a lymph node specimen, a CAP-style synoptic summary, an
    addendum. Drawn from a generator seeded by the accession number, so the chart
    generator's own random stream (and every other module's data) is unchanged."""
    vary = random.Random(f"report-variety:{accession}")
    organ = _organ_key(case)
    lines: list[str] = []
    if resection and case.behavior == "invasive" and vary.random() < 0.6:
        positive = case.nodes.split(" ", 1)[0]
        station = _NODE_STATIONS[organ]
        if organ == "breast" and case.site.key.endswith("right"):
            station = station.replace("Left", "Right")
        lines += ["", f"B. {station}, excision:"]
        lines.append(
            f"  - Metastatic carcinoma in {case.nodes}"
            if positive not in ("0", "No")
            else "  - Lymph nodes negative for metastatic carcinoma"
        )
    if resection and case.behavior != "benign" and vary.random() < 0.4:
        side = case.site.key.split("_")[1] if "_" in case.site.key else "not applicable"
        lines += [
            "",
            "CANCER CASE SUMMARY (CAP protocol):",
            f"Procedure: {procedure}",
            f"Specimen Laterality: {side}",
            f"Tumor Site: {case.site.organ}",
            f"Histologic Type: {case.histology}",
            f"Histologic Grade: {case.grade}",
            f"Tumor Size: {case.size_cm:.1f} cm",
        ]
    if case.markers and vary.random() < 0.2:
        lines += ["", "ADDENDUM:", f"Ancillary studies reported after sign-out. {case.markers}."]
    return lines


def report_text(
    rng: random.Random,
    case: Case,
    person: Person,
    *,
    resection: bool,
    procedure: str,
    accession: str,
    collected: datetime,
    reported: datetime,
    pathologist: Practitioner,
    surgeon: Practitioner,
    history: str,
) -> str:
    organ = _organ_key(case)
    specimen = f"{case.site.organ.capitalize()}, {procedure}"
    if resection:
        a, b = rng.uniform(4, 12), rng.uniform(3, 9)
        gross = _GROSS_RESECTION.format(
            procedure=procedure,
            a=a,
            b=b,
            c=rng.uniform(2, 6),
            size=case.size_cm,
            cassettes=rng.randint(8, 18),
        )
    else:
        gross = _GROSS_BIOPSY[organ].format(organ=case.site.organ, n=rng.randint(3, 6))
    micro = _MICRO[(organ, case.behavior)]
    lines = [
        "SURGICAL PATHOLOGY REPORT",
        "",
        f"Patient: {person.family.upper()}, {' '.join(person.given).upper()}    "
        f"MRN: {person.mrn}    DOB: {person.birth_date:%m/%d/%Y}",
        f"Accession: {accession}    Collected: {collected:%m/%d/%Y %H:%M}    "
        f"Reported: {reported:%m/%d/%Y %H:%M}",
        f"Submitting physician: {surgeon.display}",
        "",
        "SPECIMEN:",
        f"A. {specimen}",
        "",
        "CLINICAL HISTORY:",
        history,
        "",
        "GROSS DESCRIPTION:",
        gross,
        "",
        "MICROSCOPIC DESCRIPTION:",
        micro,
        "",
        "FINAL DIAGNOSIS:",
        *_diagnosis(case, f"A. {specimen}", resection),
        *_variety(case, resection, procedure, accession),
        "",
        _BEHAVIOR[case.behavior],
        "",
        f"Electronically signed by {pathologist.display}, on {reported:%m/%d/%Y %H:%M}",
    ]
    return "\n".join(lines)
