"""Synthetic surgical pathology reports with cancer-registry ground truth.

Self-written: these test and benchmark the registry's report classifier but are never its
headline figure (they come from the same hands as the classifier). They are made to be
varied the way real reports are: narrative and CAP-style synoptic layouts, several
specimens, lymph nodes and metastases, addenda, distracting clinical histories, upper-case
dictation and OCR slips. Each report carries the primary site (ICD-O-3 topography), the
morphology and laterality a registrar would abstract from it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteSpec:
    key: str
    site: str  # ICD-O-3 topography of the primary
    organ: tuple[str, ...]  # how the specimen header names the organ
    procedures: tuple[str, ...]
    histologies: tuple[tuple[str, str], ...]  # (text, morphology code)
    paired: bool = False
    nodes: str = "regional lymph nodes"
    gross: str = "a firm tan-white mass"


SPECS: tuple[SiteSpec, ...] = (
    SiteSpec(
        "breast",
        "C50.9",
        ("breast",),
        ("lumpectomy", "simple mastectomy", "modified radical mastectomy", "core needle biopsy"),
        (
            ("invasive ductal carcinoma", "8500/3"),
            ("invasive lobular carcinoma", "8520/3"),
            ("infiltrating ductal carcinoma", "8500/3"),
        ),
        True,
        "axillary sentinel lymph node",
    ),
    SiteSpec(
        "breast_uoq",
        "C50.4",
        ("breast, upper outer quadrant",),
        ("excision",),
        (("invasive ductal carcinoma", "8500/3"),),
        True,
        "axillary lymph node",
    ),
    SiteSpec(
        "lung_upper",
        "C34.1",
        ("lung, upper lobe", "upper lobe of lung"),
        ("lobectomy", "wedge resection"),
        (
            ("adenocarcinoma, acinar predominant", "8551/3"),
            ("squamous cell carcinoma", "8070/3"),
            ("adenocarcinoma", "8140/3"),
        ),
        True,
        "hilar lymph node",
    ),
    SiteSpec(
        "lung_lower",
        "C34.3",
        ("lung, lower lobe",),
        ("lobectomy",),
        (("squamous cell carcinoma, keratinizing", "8071/3"), ("adenocarcinoma", "8140/3")),
        True,
        "subcarinal lymph node, station 7",
    ),
    SiteSpec(
        "prostate",
        "C61.9",
        ("prostate", "prostate and seminal vesicles"),
        ("radical prostatectomy", "needle core biopsies"),
        (("adenocarcinoma, acinar type", "8140/3"), ("prostatic adenocarcinoma", "8140/3")),
        False,
        "pelvic lymph nodes",
    ),
    SiteSpec(
        "sigmoid",
        "C18.7",
        ("sigmoid colon",),
        ("sigmoid colectomy", "resection"),
        (("adenocarcinoma", "8140/3"), ("mucinous adenocarcinoma", "8480/3")),
        False,
        "pericolic lymph nodes",
    ),
    SiteSpec(
        "cecum",
        "C18.0",
        ("cecum", "right colon and cecum"),
        ("right hemicolectomy",),
        (("adenocarcinoma", "8140/3"),),
        False,
        "pericolic lymph nodes",
    ),
    SiteSpec(
        "rectum",
        "C20.9",
        ("rectum",),
        ("low anterior resection", "abdominoperineal resection"),
        (("adenocarcinoma", "8140/3"),),
        False,
        "perirectal lymph nodes",
    ),
    SiteSpec(
        "kidney",
        "C64.9",
        ("kidney",),
        ("radical nephrectomy", "partial nephrectomy"),
        (
            ("clear cell renal cell carcinoma", "8310/3"),
            ("papillary renal cell carcinoma", "8260/3"),
            ("chromophobe renal cell carcinoma", "8317/3"),
        ),
        True,
        "hilar lymph nodes",
    ),
    SiteSpec(
        "thyroid",
        "C73.9",
        ("thyroid", "thyroid gland"),
        ("total thyroidectomy", "right lobectomy"),
        (
            ("papillary thyroid carcinoma", "8260/3"),
            ("papillary carcinoma, follicular variant", "8340/3"),
        ),
        False,
        "central compartment lymph nodes",
    ),
    SiteSpec(
        "bladder",
        "C67.9",
        ("urinary bladder", "bladder"),
        ("radical cystectomy", "transurethral resection"),
        (("invasive high grade urothelial carcinoma", "8120/3"),),
        False,
        "pelvic lymph nodes",
    ),
    SiteSpec(
        "endometrium",
        "C54.1",
        ("uterus, cervix, bilateral ovaries and fallopian tubes", "uterus"),
        ("total hysterectomy and bilateral salpingo-oophorectomy",),
        (("endometrioid adenocarcinoma", "8380/3"), ("serous carcinoma", "8441/3")),
        False,
        "pelvic lymph nodes",
    ),
    SiteSpec(
        "ovary",
        "C56.9",
        ("ovary",),
        ("salpingo-oophorectomy",),
        (("high grade serous carcinoma", "8461/3"),),
        True,
        "omentum",
    ),
    SiteSpec(
        "cervix",
        "C53.9",
        ("cervix",),
        ("cone biopsy", "radical hysterectomy"),
        (("squamous cell carcinoma", "8070/3"),),
        False,
        "pelvic lymph nodes",
    ),
    SiteSpec(
        "stomach",
        "C16.9",
        ("stomach",),
        ("partial gastrectomy", "total gastrectomy"),
        (("adenocarcinoma, intestinal type", "8144/3"), ("signet ring cell carcinoma", "8490/3")),
        False,
        "perigastric lymph nodes",
    ),
    SiteSpec(
        "esophagus",
        "C15.9",
        ("esophagus",),
        ("esophagectomy",),
        (("adenocarcinoma", "8140/3"), ("squamous cell carcinoma", "8070/3")),
        False,
        "periesophageal lymph nodes",
    ),
    SiteSpec(
        "pancreas",
        "C25.0",
        ("pancreas, head", "head of pancreas"),
        ("pancreaticoduodenectomy (Whipple)",),
        (("ductal adenocarcinoma", "8500/3"), ("adenocarcinoma", "8140/3")),
        False,
        "peripancreatic lymph nodes",
    ),
    SiteSpec(
        "liver",
        "C22.0",
        ("liver",),
        ("partial hepatectomy", "segmentectomy"),
        (("hepatocellular carcinoma", "8170/3"),),
        False,
        "hilar lymph nodes",
    ),
    SiteSpec(
        "brain",
        "C71.1",
        ("brain, frontal lobe", "frontal lobe"),
        ("resection",),
        (("glioblastoma", "9440/3"), ("oligodendroglioma", "9450/3")),
        True,
        "",
    ),
    SiteSpec(
        "skin",
        "C44.5",
        ("skin of back", "skin, back"),
        ("wide local excision",),
        (("malignant melanoma", "8720/3"), ("superficial spreading melanoma", "8743/3")),
        False,
        "sentinel lymph node",
    ),
    SiteSpec(
        "tongue",
        "C02.9",
        ("tongue",),
        ("partial glossectomy",),
        (("squamous cell carcinoma", "8070/3"),),
        False,
        "neck dissection, level II",
    ),
    SiteSpec(
        "larynx",
        "C32.9",
        ("larynx",),
        ("total laryngectomy",),
        (("squamous cell carcinoma", "8070/3"),),
        False,
        "neck dissection, level III",
    ),
    SiteSpec(
        "testis",
        "C62.9",
        ("testis",),
        ("radical orchiectomy",),
        (("seminoma", "9061/3"), ("mixed germ cell tumor", "9085/3")),
        True,
        "retroperitoneal lymph nodes",
    ),
    SiteSpec(
        "adrenal",
        "C74.0",
        ("adrenal gland",),
        ("adrenalectomy",),
        (("adrenal cortical carcinoma", "8370/3"),),
        True,
        "",
    ),
    SiteSpec(
        "thymus",
        "C37.9",
        ("thymus", "anterior mediastinal mass (thymus)"),
        ("thymectomy",),
        (("thymoma, type B2", "8584/3"),),
        False,
        "",
    ),
    SiteSpec(
        "pleura",
        "C38.4",
        ("pleura",),
        ("pleurectomy",),
        (("malignant mesothelioma, epithelioid", "9052/3"),),
        True,
        "",
    ),
)

_DISTRACTORS = (
    "History of breast cancer treated in 2009.",
    "Prior history of colon polyps.",
    "Known prostate nodule, PSA 5.1.",
    "Rule out lung nodule seen on CT.",
    "Family history of ovarian cancer.",
    "History of basal cell carcinoma of the skin.",
    "",
    "",
)

_METASTATIC_TARGETS = (
    ("liver", "needle core biopsy"),
    ("lymph node, left supraclavicular", "excisional biopsy"),
    ("bone, right femur", "biopsy"),
    ("brain, cerebellum", "resection"),
    ("lung, right lower lobe", "wedge resection"),
)


@dataclass
class SyntheticReport:
    id: str
    text: str
    primary_site: str
    morphology: str
    laterality: str
    style: str

    def truth(self) -> dict:
        return {
            "id": self.id,
            "primary_site": self.primary_site,
            "morphology": self.morphology,
            "laterality": self.laterality,
            "style": self.style,
        }


def _ocr(rng: random.Random, text: str, rate: float) -> str:
    """Scanner slips: O/0, I/l/1, rn/m, dropped letters, words split across lines."""
    swaps = {"O": "0", "o": "c", "I": "l", "l": "1", "m": "rn", "e": "c", "S": "5", "i": "l"}
    out = []
    for ch in text:
        if ch.isalpha() and rng.random() < rate:
            out.append(swaps.get(ch, "") if rng.random() < 0.8 else "")
        else:
            out.append(ch)
    return "".join(out)


def _wrap(rng: random.Random, text: str, width: int) -> str:
    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if len(line) + len(word) > width and line:
                if rng.random() < 0.1 and len(word) > 8:  # hyphenated across lines
                    cut = len(word) // 2
                    lines.append(f"{line} {word[:cut]}-".strip())
                    line = word[cut:]
                    continue
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
    return "\n".join(lines)


def _side(rng: random.Random, spec: SiteSpec) -> tuple[str, str]:
    if not spec.paired:
        # Skin of trunk is a paired site to SEER: a back with no side stated is 9, not 0.
        return "", "9" if spec.site == "C44.5" else "0"
    side = rng.choice(("right", "left"))
    return side, "1" if side == "right" else "2"


def make_report(rng: random.Random, number: int) -> SyntheticReport:
    spec = rng.choice(SPECS)
    histology, morphology = rng.choice(spec.histologies)
    side, laterality = _side(rng, spec)
    organ = rng.choice(spec.organ)
    procedure = rng.choice(spec.procedures)
    header = f"{side} {organ}".strip().capitalize() + f", {procedure}"
    style = rng.choice(("narrative", "multi", "synoptic", "metastasis", "addendum"))
    grade = rng.choice(
        (
            "well differentiated",
            "moderately differentiated",
            "poorly differentiated",
            "grade 2",
            "FNCLCC grade 3",
        )
    )
    positive, total = rng.randint(0, 3), rng.randint(3, 22)
    history = rng.choice(_DISTRACTORS)
    size = rng.uniform(0.8, 7.5)
    parts: list[str] = [
        "SURGICAL PATHOLOGY REPORT",
        f"Accession: S{rng.randint(10, 26)}-{rng.randint(1000, 99999)}",
        "",
        "CLINICAL HISTORY:",
        f"{rng.randint(34, 88)} year old with a {organ} mass. {history}".strip(),
        "",
    ]
    site, truth_morph = spec.site, morphology
    if style == "metastasis":
        target, target_proc = rng.choice(_METASTATIC_TARGETS)
        primary_word = {
            "breast": "breast",
            "lung_upper": "lung",
            "lung_lower": "lung",
            "sigmoid": "colonic",
            "cecum": "colonic",
            "rectum": "colorectal",
            "kidney": "renal",
            "prostate": "prostatic",
        }.get(spec.key)
        if primary_word is None or target.split(",")[0] in spec.key:
            style = "narrative"
        else:
            site = {
                "breast": "C50.9",
                "lung_upper": "C34.9",
                "lung_lower": "C34.9",
                "sigmoid": "C18.9",
                "cecum": "C18.9",
                "rectum": "C18.9",
                "kidney": "C64.9",
                "prostate": "C61.9",
            }[spec.key]
            laterality = "9" if spec.paired else "0"
            parts += [
                "GROSS DESCRIPTION:",
                f"Received in formalin labeled '{target}' are tan-gray cores, 1.2 cm in "
                "aggregate. Entirely submitted.",
                "",
                "FINAL DIAGNOSIS:",
                f"{target.capitalize()}, {target_proc}:",
                f"- Metastatic {histology.split(',')[0]}, consistent with {primary_word} primary.",
                "- See comment.",
                "",
                "COMMENT:",
                f"The tumor cells are positive for markers of {primary_word} origin. "
                "Clinical correlation is recommended.",
            ]
    if style in ("narrative", "addendum"):
        parts += [
            "GROSS DESCRIPTION:",
            f"Received fresh labeled '{header}' is a specimen measuring "
            f"{size + 3:.1f} cm containing {spec.gross} {size:.1f} cm in greatest dimension. "
            "Margins are inked. Representative sections are submitted.",
            "",
            "MICROSCOPIC DESCRIPTION:",
            "Sections show an infiltrating malignant neoplasm with desmoplastic stroma.",
            "",
            "FINAL DIAGNOSIS:",
            f"{header}:",
            f"- {histology.capitalize()}, {grade}.",
            f"- Tumor size: {size:.1f} cm.",
            "- Margins negative for carcinoma.",
        ]
        if spec.nodes:
            parts.append(
                f"- {positive} of {total} {spec.nodes.split(',')[0]}s positive "
                "for metastatic carcinoma."
            )
        if style == "addendum":
            parts += [
                "",
                "ADDENDUM:",
                f"Immunohistochemical stains support the diagnosis of {histology}.",
            ]
    elif style == "multi":
        letters = iter("ABCDE")
        parts += ["SPECIMENS:", f"A. {header}"]
        if spec.nodes:
            parts.append(f"B. {spec.nodes.capitalize()}, excision")
        parts += [
            f"C. {rng.choice(('Gallbladder', 'Appendix', 'Skin, incidental'))}, excision",
            "",
            "FINAL DIAGNOSIS:",
        ]
        parts += [
            f"{next(letters)}. {header.upper()}:",
            f"   {histology.upper()}, {grade.upper()}.",
            f"   TUMOR SIZE {size:.1f} CM. MARGINS FREE OF TUMOR.",
        ]
        if spec.nodes:
            parts += [
                f"{next(letters)}. {spec.nodes.upper()}, EXCISION:",
                f"   METASTATIC CARCINOMA IN {max(positive, 1)} OF {total} LYMPH NODES.",
            ]
        parts += [f"{next(letters)}. INCIDENTAL SPECIMEN:", "   NO TUMOR IDENTIFIED. BENIGN."]
    elif style == "synoptic":
        parts += [
            "FINAL DIAGNOSIS:",
            f"{header}: {histology}.",
            "",
            "CANCER CASE SUMMARY (CAP PROTOCOL):",
            f"Procedure: {procedure}",
            f"Specimen Laterality: {side or 'not applicable'}",
            f"Tumor Site: {organ}",
            f"Histologic Type: {histology}",
            f"Histologic Grade: {grade}",
            f"Tumor Size: {size:.1f} cm",
            f"Regional Lymph Nodes: {positive} of {total} involved"
            if spec.nodes
            else "Regional Lymph Nodes: not applicable",
            "Margins: uninvolved by invasive carcinoma",
        ]
    parts += ["", f"Electronically signed by Dr. {rng.choice(('Ames', 'Okafor', 'Lind'))}"]
    text = "\n".join(parts)
    if rng.random() < 0.45:
        text = text.upper()
    if rng.random() < 0.3:
        text = _wrap(rng, text, rng.randint(50, 80))
    if rng.random() < 0.35:
        text = _ocr(rng, text, rng.uniform(0.002, 0.01))
    return SyntheticReport(f"synth-{number:05d}", text, site, truth_morph, laterality, style)


def make_reports(count: int, seed: int = 13) -> list[SyntheticReport]:
    rng = random.Random(seed)
    return [make_report(rng, i) for i in range(count)]


# Short reports, each testing one reading rule (sections, specimen headers, metastases and
# nodes, site-bound histologies, OCR digits), with the 3-character primary site a registrar
# would code. Self-written like the rest of this module.
RULE_CASES: dict[str, str] = {
    "FINAL DIAGNOSIS LEFT BREAST, MASTECTOMY: INFILTRATING DUCTAL CARCINOMA. GROSS DESCRIPTION: LYMPH NODES AND LUNG": "C50",
    "DIAGN0SIS:\nA. URINARY BLADDER AND PROSTATE, RADICAL CYSTOPROSTATECTOMY:\n- INVASIVE HIGH GRADE UROTHELIAL CARCINOMA.\n- PROSTATE: INCIDENTAL ADENOCARCINOMA, GLEASON 3+3=6.": "C67",
    "FINAL DIAGNOSIS:\nANTERIOR MEDIASTINAL MASS, RESECTION: THYMOMA, WHO TYPE B2.": "C37",
    "FINAL DIAGNOSIS:\nEYE, LEFT, ENUCLEATION: MALIGNANT MELANOMA OF THE CHOROID, MIXED CELL TYPE.": "C69",
    "FINAL DIAGNOSIS:\nA. SOFT TISSUE, LEFT AXILLA, EXCISION: METASTATIC MALIGNANT MELANOMA.": "C44",
    "FINAL DIAGNOSIS:\nPANCREAS, PANCREATICODUODENECTOMY: ADENOCARCINOMA OF PANCREAS, MODERATELY DIFFERENTIATED. DUODENUM AND STOMACH: NEGATIVE. GALLBLADDER: CHRONIC CHOLECYSTITIS.": "C25",
    "DIAGNOSIS:\nBRAIN, LEFT TEMPORAL LOBE, RESECTION: GLIOBLASTOMA, WHO GRADE IV.": "C71",
    "FINAL DIAGNOSIS:\nUTERUS, CERVIX, BILATERAL TUBES AND OVARIES: ENDOMETRIOID ADENOCARCINOMA, FIGO GRADE 1, INVADING 30% OF MYOMETRIUM. OVARIES: NO TUMOR.": "C54",
    "FINAL DIAGNOSIS:\nLYMPH NODE, RIGHT NECK, LEVEL II: METASTATIC SQUAMOUS CELL CARCINOMA. B. LARYNX, TOTAL LARYNGECTOMY: INVASIVE SQUAMOUS CELL CARCINOMA, TRANSGLOTTIC.": "C32",
    "FINAL DIAGNOSIS:\nRETROPERITONEAL MASS, RESECTION: DEDIFFERENTIATED LIPOSARCOMA.": "C48",
    "FINAL DIAGNOSIS:\nADRENAL GLAND, RIGHT, ADRENALECTOMY: PHEOCHROMOCYTOMA.": "C74",
    "FINAL DIAGNOSIS: TESTIS, LEFT, RADICAL ORCHIECTOMY: SEMINOMA, CLASSIC TYPE.": "C62",
    "FINAL DIAGNOSIS: LIVER, RIGHT LOBE, PARTIAL HEPATECTOMY: HEPATOCELLULAR CARCINOMA, GRADE 2.": "C22",
    "FINAL DIAGNOSIS: STOMACH, TOTAL GASTRECTOMY: ADENOCARCINOMA, DIFFUSE TYPE. PROXIMAL (ESOPHAGEAL) MARGIN NEGATIVE.": "C16",
    "FINAL DIAGNOSIS: PLEURA, DECORTICATION: MALIGNANT MESOTHELIOMA, EPITHELIOID TYPE.": "C38",
    "FINAL DIAGNOSIS: COLON, RECTOSIGMOID, LOW ANTERIOR RESECTION: ADENOCARCINOMA.": "C19",
    "FINAL DIAGNOSIS: KIDNEY, RIGHT, RADICAL NEPHRECTOMY: RENAL CELL CARCINOMA, CLEAR CELL TYPE, FUHRMAN GRADE 3. ADRENAL GLAND: NEGATIVE FOR TUMOR.": "C64",
    "FINAL DIAGNOSIS: THYROID, TOTAL THYROIDECTOMY: PAPILLARY CARCINOMA, CLASSICAL VARIANT. LYMPH NODES, CENTRAL: METASTATIC PAPILLARY CARCINOMA 2/5.": "C73",
    "FINAL DIAGNOSIS: LYMPH NODE, LEFT CERVICAL, EXCISION: DIFFUSE LARGE B-CELL LYMPHOMA.": "C77",
    "FINAL DIAGNOSIS: OVARY, RIGHT, SALPINGO-OOPHORECTOMY: HIGH GRADE SEROUS CARCINOMA. OMENTUM: METASTATIC SEROUS CARCINOMA.": "C56",
    "FINAL DIAGNOSIS: CERVIX, RADICAL HYSTERECTOMY: INVASIVE SQUAMOUS CELL CARCINOMA OF CERVIX, DEPTH 8 MM. UTERUS: BENIGN ENDOMETRIUM.": "C53",
    "FINAL DIAGNOSIS: ESOPHAGUS, ESOPHAGECTOMY: SQUAMOUS CELL CARCINOMA OF MID ESOPHAGUS.": "C15",
    "FINAL DIAGNOSIS: TONGUE, LEFT LATERAL, PARTIAL GLOSSECTOMY: INVASIVE SQUAMOUS CELL CARCINOMA.": "C02",
    "FINAL DIAGNOSIS: FLOOR OF MOUTH, RESECTION: SQUAMOUS CELL CARCINOMA INVADING MANDIBLE.": "C04",
    "FINAL DIAGNOSIS: TONSIL, RIGHT, TONSILLECTOMY: SQUAMOUS CELL CARCINOMA, NONKERATINIZING, P16 POSITIVE.": "C09",
    "FINAL DIAGNOSIS: LIVER, WEDGE: INTRAHEPATIC CHOLANGIOCARCINOMA.": "C22",
    "FINAL DIAGNOSIS: SKIN, BACK, WIDE EXCISION: MALIGNANT MELANOMA, SUPERFICIAL SPREADING TYPE, BRESLOW 1.2 MM.": "C44",
    "FINAL DIAGNOSIS: UTERUS, HYSTERECTOMY: CARCINOSARCOMA (MALIGNANT MIXED MULLERIAN TUMOR).": "C54",
    "SPECIMEN: SIGMOID COLON\nGROSS DESCRIPTION: RECEIVED IS A SEGMENT OF SIGMOID COLON WITH ATTACHED FAT. THE APPENDIX IS NOT PRESENT.\nFINAL DIAGNOSIS:\nSIGMOID COLON, RESECTION:\n ADENOCARCINOMA, MODERATELY DIFFERENTIATED, INVADING INTO PERICOLIC FAT.\n METASTATIC ADENOCARCINOMA IN 3 OF 17 PERICOLIC LYMPH NODES.": "C18",
    "CLINICAL HISTORY: 65 YEAR OLD MAN WITH LUNG MASS. HISTORY OF PROSTATE CANCER.\nFINAL DIAGNOSIS:\nA. LUNG, RIGHT LOWER LOBE, LOBECTOMY:\n  SQUAMOUS CELL CARCINOMA, KERATINIZING, 3.5 CM.\n  BRONCHIAL MARGIN FREE OF TUMOR.\nB. LYMPH NODE, STATION 7: ONE LYMPH NODE NEGATIVE FOR CARCINOMA (0/1).": "C34",
    "FINAL DIAGNOSIS:\nA. BRAIN, RIGHT FRONTAL, BIOPSY: METASTATIC ADENOCARCINOMA, CONSISTENT WITH PRIMARY LUNG ADENOCARCINOMA (TTF-1 POSITIVE).": "C34",
    "FINAL DIAGNOSIS:\nBONE, LEFT FEMUR, BIOPSY: METASTATIC CLEAR CELL RENAL CELL CARCINOMA.": "C64",
    "DIAGNOSIS: LIVER, BIOPSY: METASTATIC ADENOCARCINOMA. COMMENT: THE PROFILE (CK7 NEGATIVE, CK20 POSITIVE, CDX2 POSITIVE) SUPPORTS A COLORECTAL PRIMARY.": "C18",
    # A word the scan broke at a line end, and a letterhead naming another organ.
    "FINAL DIAGNOSIS:\nA. PROS-\nTATE, RADICAL RESECTION: ADENO-\nCARCINOMA, GLEASON 3+4=7.": "C61",
    "WOMEN'S BREAST HEALTH CENTER\nFINAL DIAGNOSIS:\nUTERUS, HYSTERECTOMY: ENDOMETRIOID ADENOCARCINOMA, FIGO GRADE 1.": "C54",
    "LYMPH NODE, LEFT SUPRACLAVICULAR, BIOPSY: METASTATIC ADENOCARCINOMA; THE PRIMARY SITE CANNOT BE DETERMINED.": "C80",
    "FINAL DIAGNOSIS: KIDNEY, NEPHROURETERECTOMY: HIGH GRADE UROTHELIAL CARCINOMA OF THE RENAL PELVIS.": "C65",
    # A sarcoma of the retroperitoneum with organs taken en bloc; a short code kept as is.
    "RETROPERITONEUM, EN BLOC RESECTION WITH LEFT KIDNEY AND COLON:\nDEDIFFERENTIATED LIPOSARCOMA, 20 CM. KIDNEY AND COLON NOT INVADED.": "C48",
    "Histologic Type: Thymoma, type B1\nTumor Site: Anterior mediastinum": "C37",
}
