"""Surgical pathology: tumour sites and the case details (histology, grade, stage) drawn.

The report text itself is composed in pathreport.py, in the usual layout (specimen,
clinical history, gross and microscopic description, final diagnosis with histology, grade,
margins, and a behaviour statement) so a cancer registry's casefinding has the cues it has
in real reports. Benign colon polyps produce reports too, as the negatives casefinding must
reject.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..orders import PROCEDURES, Proc, pcs_code
from ..terminology import snomed


@dataclass(frozen=True)
class Site:
    key: str
    sex: str | None
    min_age: int
    weight: float
    finding: str  # Dx key of the work-up finding that leads to biopsy
    cancer: str  # Dx key when invasive
    in_situ: str | None  # Dx key when in situ
    organ: str
    biopsy: Proc
    resection: Proc
    resection_inpatient: bool
    los: tuple[int, int] = (2, 4)


def _breast(side: str, pcs: str) -> Site:
    s = side[0].upper()
    return Site(
        f"breast_{side}",
        "female",
        35,
        3.0,
        "abnormal_mammogram",
        f"breast_ca_{side}",
        f"dcis_{side}",
        f"{side} breast",
        Proc(
            f"breast_biopsy_{side}",
            f"ultrasound-guided core needle biopsy of the {side} breast",
            snomed("122548005", "Biopsy of breast (procedure)"),
            None,
            (20, 40),
            False,
            "surgery",
        ),
        Proc(
            f"lumpectomy_{side}",
            f"wire-localized {side} breast lumpectomy",
            snomed("392021009", "Lumpectomy of breast (procedure)"),
            pcs_code(pcs, f"Excision of {'Right' if s == 'R' else 'Left'} Breast, Open Approach"),
            (60, 100),
            True,
            "surgery",
        ),
        resection_inpatient=False,
    )


def _lung(side: str, pcs: str) -> Site:
    title = "Right" if side == "right" else "Left"
    return Site(
        f"lung_{side}",
        None,
        50,
        1.2,
        "lung_nodule",
        f"lung_ca_{side}",
        None,
        f"{side} upper lobe of the lung",
        Proc(
            f"bronch_biopsy_{side}",
            f"bronchoscopy with transbronchial biopsy of the {side} upper lobe",
            snomed("10847001", "Bronchoscopy (procedure)"),
            None,
            (30, 60),
            False,
            "pulmonology",
        ),
        Proc(
            f"lobectomy_{side}",
            f"video-assisted thoracoscopic {side} upper lobectomy",
            snomed("173171007", "Lobectomy of lung (procedure)"),
            pcs_code(
                pcs, f"Resection of {title} Upper Lung Lobe, Percutaneous Endoscopic Approach"
            ),
            (120, 240),
            True,
            "surgery",
        ),
        resection_inpatient=True,
        los=(3, 5),
    )


SITES = (
    _breast("right", "0HBT0ZZ"),
    _breast("left", "0HBU0ZZ"),
    Site(
        "prostate",
        "male",
        50,
        3.0,
        "elevated_psa",
        "prostate_ca",
        None,
        "prostate",
        Proc(
            "prostate_biopsy",
            "transrectal ultrasound-guided 12-core prostate biopsy",
            snomed("65575008", "Biopsy of prostate (procedure)"),
            None,
            (20, 40),
            False,
            "urology",
        ),
        Proc(
            "prostatectomy",
            "robotic-assisted laparoscopic radical prostatectomy",
            snomed("90470006", "Prostatectomy (procedure)"),
            pcs_code("0VT04ZZ", "Resection of Prostate, Percutaneous Endoscopic Approach"),
            (150, 240),
            True,
            "urology",
        ),
        resection_inpatient=True,
        los=(1, 2),
    ),
    Site(
        "colon",
        None,
        45,
        1.5,
        "colon_screening",
        "colon_ca",
        None,
        "sigmoid colon",
        Proc(
            "colon_biopsy",
            "colonoscopy with biopsy of a sigmoid colon mass",
            snomed("76164006", "Biopsy of colon (procedure)"),
            None,
            (30, 60),
            False,
            "gastroenterology",
        ),
        Proc(
            "sigmoid_colectomy",
            "laparoscopic sigmoid colectomy",
            snomed("43075005", "Partial resection of colon (procedure)"),
            pcs_code("0DTN4ZZ", "Resection of Sigmoid Colon, Percutaneous Endoscopic Approach"),
            (120, 210),
            True,
            "surgery",
        ),
        resection_inpatient=True,
        los=(3, 5),
    ),
    _lung("right", "0BTC4ZZ"),
    _lung("left", "0BTG4ZZ"),
)

POLYPECTOMY = Proc(
    "polypectomy",
    "colonoscopy with cold snare polypectomy",
    PROCEDURES["colonoscopy"].snomed,
    None,
    (30, 50),
    False,
    "gastroenterology",
)


@dataclass
class Case:
    site: Site
    behavior: str  # invasive / in situ / benign
    histology: str
    grade: str
    size_cm: float
    stage: str
    margin: str
    nodes: str
    markers: str
    metastatic: bool = False


def _margin(rng: random.Random) -> str:
    if rng.random() < 0.88:
        side = rng.choice(("posterior", "anterior", "superior", "deep"))
        return f"Negative for carcinoma; closest margin {side} at {rng.uniform(0.1, 1.2):.1f} cm"
    side = rng.choice(("posterior", "deep", "radial"))
    return f"POSITIVE for carcinoma at the inked {side} margin"


# Per site: (histology, grade, pT, markers) for an invasive tumour.
def _breast_tumor(rng: random.Random, size: float) -> tuple[str, str, str, str]:
    g = rng.choice((1, 2, 2, 3))
    er = rng.random() < 0.8
    her2 = rng.choice(("1+, negative", "0, negative", "3+, positive"))
    markers = (
        f"Estrogen receptor: {'positive (95%)' if er else 'negative (<1%)'}; "
        f"progesterone receptor: {'positive (60%)' if er else 'negative'}; HER2 (IHC): {her2}"
    )
    return (
        "Invasive ductal carcinoma (invasive carcinoma of no special type)",
        f"Nottingham histologic grade {g} of 3 (score {3 + 2 * g}/9)",
        "pT1c" if size <= 2 else "pT2",
        markers,
    )


def _prostate_tumor(rng: random.Random, size: float) -> tuple[str, str, str, str]:
    a, b = rng.choice(((3, 3), (3, 4), (3, 4), (4, 3), (4, 4)))
    group = {(3, 3): 1, (3, 4): 2, (4, 3): 3, (4, 4): 4}[(a, b)]
    grade = f"Gleason score {a} + {b} = {a + b} (Grade Group {group})"
    return "Prostatic adenocarcinoma, acinar type", grade, f"pT{rng.choice(('2', '2', '3a'))}", ""


def _colon_tumor(rng: random.Random, size: float) -> tuple[str, str, str, str]:
    grade = rng.choice(
        (
            "well differentiated (G1)",
            "moderately differentiated (G2)",
            "moderately differentiated (G2)",
            "poorly differentiated (G3)",
        )
    )
    mmr = "Mismatch repair proteins (MLH1, PMS2, MSH2, MSH6): intact nuclear expression"
    return "Adenocarcinoma", grade, f"pT{rng.choice(('2', '3', '3'))}", mmr


def _lung_tumor(rng: random.Random, size: float) -> tuple[str, str, str, str]:
    hist = rng.choice(("Adenocarcinoma, acinar predominant", "Squamous cell carcinoma"))
    markers = (
        "TTF-1 and napsin A positive; p40 negative"
        if hist.startswith("Adeno")
        else "p40 positive; TTF-1 negative"
    )
    grade = rng.choice(("moderately differentiated (G2)", "poorly differentiated (G3)"))
    return hist, grade, "pT1b", markers


_TUMOR = {
    "breast": _breast_tumor,
    "prostate": _prostate_tumor,
    "colon": _colon_tumor,
    "lung": _lung_tumor,
}


def draw_case(rng: random.Random, site: Site) -> Case:
    """The pathology of one cancer at `site`: in situ (breast, 20%) or invasive."""
    size = round(rng.uniform(0.6, 4.5), 1)
    margin = _margin(rng)
    positive = rng.choice((0, 0, 0, 1, 2))
    nodes = f"{positive} of {rng.randint(2, 18)} lymph nodes involved by carcinoma"
    pn = "pN0" if positive == 0 else "pN1"
    if site.in_situ and rng.random() < 0.2:
        grade = rng.choice(("Low", "Intermediate", "High"))
        return Case(
            site,
            "in situ",
            "Ductal carcinoma in situ, solid and cribriform types",
            f"{grade} nuclear grade",
            size,
            "pTis pNX",
            margin,
            "No lymph nodes submitted",
            "Estrogen receptor: positive (90%)",
        )
    histology, grade, pt, markers = _TUMOR[site.key.split("_")[0]](rng, size)
    metastatic = site.key.startswith("lung") and rng.random() < 0.3
    stage = "cT2a cN2 cM1b" if metastatic else f"{pt} {pn}"
    return Case(site, "invasive", histology, grade, size, stage, margin, nodes, markers, metastatic)


# What a registrar abstracts for each site (ICD-O-3 topography, laterality) and histology
# text the generator writes (ICD-O-3 morphology, 2018+ coding rules: prostatic acinar
# adenocarcinoma is 8140/3). Ground truth for registry tests and bench/registry.py.
_TOPOGRAPHY = {
    "breast_right": ("C50.9", "1"),
    "breast_left": ("C50.9", "2"),
    "prostate": ("C61.9", "0"),
    "colon": ("C18.7", "0"),
    "lung_right": ("C34.1", "1"),
    "lung_left": ("C34.1", "2"),
}
_MORPHOLOGY = {
    "Invasive ductal carcinoma": "8500/3",
    "Ductal carcinoma in situ": "8500/2",
    "Prostatic adenocarcinoma": "8140/3",
    "Adenocarcinoma, acinar predominant": "8551/3",
    "Squamous cell carcinoma": "8070/3",
    "Adenocarcinoma": "8140/3",
}


def registry_truth(case: Case) -> dict:
    """The registry's ground truth for a drawn case (site, morphology, laterality)."""
    site, laterality = _TOPOGRAPHY[case.site.key]
    morphology = next(
        (code for text, code in _MORPHOLOGY.items() if case.histology.startswith(text)), None
    )
    return {"primary_site": site, "morphology": morphology, "laterality": laterality}


def benign_polyp_case() -> Case:
    site = next(s for s in SITES if s.key == "colon")
    return Case(
        site,
        "benign",
        "Tubular adenoma",
        "Low-grade dysplasia",
        0.6,
        "",
        "Polyp removed in one piece; stalk margin free of adenoma",
        "",
        "",
    )
