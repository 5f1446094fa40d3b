"""Clinical catalogue: the diagnoses the generator can assign and how often, by age and sex.

Every diagnosis is a billable ICD-10-CM code whose display comes from `simple_icd_10_cm`
(see terminology.icd10cm). Prevalences are rough US figures per age band
(0-17, 18-39, 40-64, 65+); they aim at plausible charts, not epidemiology.
Problem-list codes are what a clinician picks (I10 next to N18.31, say); combining them per
the coding guidelines (I12.9) is deliberately left to coders and computer-assisted coding.
"""

from __future__ import annotations

from dataclasses import dataclass

from .terminology import Code, icd10cm


@dataclass(frozen=True)
class Dx:
    key: str
    icd: str
    phrase: str  # the wording a clinician uses in a note

    @property
    def code(self) -> Code:
        return icd10cm(self.icd)


def _dx(*rows: tuple[str, str, str]) -> dict[str, Dx]:
    return {key: Dx(key, icd, phrase) for key, icd, phrase in rows}


DX = _dx(
    # chronic problems and their coded variants
    ("htn", "I10", "essential hypertension"),
    ("t2dm", "E11.9", "type 2 diabetes mellitus without complications"),
    ("t2dm_hyper", "E11.65", "type 2 diabetes mellitus with hyperglycemia"),
    ("t2dm_ckd", "E11.22", "type 2 diabetes mellitus with diabetic chronic kidney disease"),
    ("hld", "E78.5", "hyperlipidemia"),
    ("asthma", "J45.909", "asthma"),
    ("copd", "J44.9", "chronic obstructive pulmonary disease"),
    ("hf", "I50.9", "congestive heart failure"),
    ("ckd3a", "N18.31", "chronic kidney disease stage 3a"),
    ("ckd3b", "N18.32", "chronic kidney disease stage 3b"),
    ("ckd4", "N18.4", "chronic kidney disease stage 4"),
    ("afib", "I48.91", "atrial fibrillation"),
    ("cad", "I25.10", "coronary artery disease"),
    ("hypothyroid", "E03.9", "hypothyroidism"),
    ("depression", "F32.A", "depression"),
    ("anxiety", "F41.1", "generalized anxiety disorder"),
    ("gerd", "K21.9", "gastroesophageal reflux disease"),
    ("oa_right", "M17.11", "primary osteoarthritis of the right knee"),
    ("oa_left", "M17.12", "primary osteoarthritis of the left knee"),
    ("oa_both", "M17.0", "bilateral primary osteoarthritis of the knees"),
    ("osa", "G47.33", "obstructive sleep apnea"),
    ("adhd", "F90.9", "attention-deficit hyperactivity disorder"),
    ("allergic_rhinitis", "J30.9", "allergic rhinitis"),
    ("vitd", "E55.9", "vitamin D deficiency"),
    ("anemia", "D64.9", "anemia"),
    ("prediabetes", "R73.03", "prediabetes"),
    ("smoker", "F17.210", "nicotine dependence, cigarettes"),
    ("former_smoker", "Z87.891", "history of tobacco use"),
    ("obesity", "E66.9", "obesity"),
    ("obesity3", "E66.813", "class 3 obesity"),
    # reasons for routine visits
    ("exam_adult", "Z00.00", "general adult medical examination"),
    ("exam_adult_abn", "Z00.01", "general adult medical examination with abnormal findings"),
    ("exam_child", "Z00.129", "routine child health examination"),
    # acute problems seen in clinic or the emergency department
    ("uri", "J06.9", "acute upper respiratory infection"),
    ("pharyngitis", "J02.9", "acute pharyngitis"),
    ("sinusitis", "J01.90", "acute sinusitis"),
    ("bronchitis", "J20.9", "acute bronchitis"),
    ("otitis_right", "H66.91", "right otitis media"),
    ("otitis_left", "H66.92", "left otitis media"),
    ("uti", "N39.0", "urinary tract infection"),
    ("lbp", "M54.50", "low back pain"),
    ("headache", "R51.9", "headache"),
    ("influenza", "J11.1", "influenza"),
    ("cellulitis", "L03.90", "cellulitis"),
    ("chest_pain", "R07.9", "chest pain"),
    ("abd_pain", "R10.9", "abdominal pain"),
    ("sprain_right", "S93.401A", "sprain of the right ankle"),
    ("sprain_left", "S93.402A", "sprain of the left ankle"),
    ("gastroenteritis", "A08.4", "viral gastroenteritis"),
    ("syncope", "R55", "syncope"),
    ("hand_laceration", "S61.411A", "laceration of the right hand"),
    # inpatient principal and secondary diagnoses
    ("pneumonia", "J18.9", "community-acquired pneumonia"),
    ("sepsis", "A41.9", "sepsis"),
    ("hf_acute", "I50.23", "acute on chronic systolic heart failure"),
    ("copd_exac", "J44.1", "COPD with acute exacerbation"),
    ("nstemi", "I21.4", "non-ST elevation myocardial infarction"),
    ("stroke", "I63.9", "acute ischemic stroke"),
    ("hip_fx_right", "S72.001A", "fracture of the right femoral neck"),
    ("hip_fx_left", "S72.002A", "fracture of the left femoral neck"),
    ("fall", "W19.XXXA", "fall"),
    ("appendicitis", "K35.80", "acute appendicitis"),
    ("cholecystitis", "K80.00", "acute calculous cholecystitis"),
    ("gi_bleed", "K92.2", "gastrointestinal hemorrhage"),
    ("aki", "N17.9", "acute kidney injury"),
    ("hyponatremia", "E87.1", "hyponatremia"),
    ("resp_failure", "J96.01", "acute hypoxic respiratory failure"),
    # neoplasms and their work-up
    ("abnormal_mammogram", "R92.8", "abnormal screening mammogram"),
    ("lung_nodule", "R91.1", "solitary pulmonary nodule"),
    ("elevated_psa", "R97.20", "elevated prostate specific antigen"),
    ("colon_screening", "Z12.11", "screening for colon cancer"),
    ("colon_adenoma", "D12.5", "tubular adenoma of the sigmoid colon"),
    ("breast_ca_right", "C50.911", "malignant neoplasm of the right breast"),
    ("breast_ca_left", "C50.912", "malignant neoplasm of the left breast"),
    ("dcis_right", "D05.11", "ductal carcinoma in situ of the right breast"),
    ("dcis_left", "D05.12", "ductal carcinoma in situ of the left breast"),
    ("prostate_ca", "C61", "malignant neoplasm of the prostate"),
    ("colon_ca", "C18.7", "malignant neoplasm of the sigmoid colon"),
    ("lung_ca_right", "C34.11", "malignant neoplasm of the right upper lobe of the lung"),
    ("lung_ca_left", "C34.12", "malignant neoplasm of the left upper lobe of the lung"),
)


@dataclass(frozen=True)
class Chronic:
    """A chronic problem: prevalence per age band, treatment and monitoring."""

    key: str
    prevalence: tuple[float, float, float, float]
    sex: str | None = None
    meds: tuple[str, ...] = ()
    panels: tuple[str, ...] = ()
    # Other chronic keys that multiply this one's odds (comorbidity clustering).
    boosted_by: tuple[tuple[str, float], ...] = ()


CHRONIC = (
    Chronic(
        "htn", (0.01, 0.08, 0.33, 0.60), meds=("lisinopril", "amlodipine", "hctz"), panels=("bmp",)
    ),
    Chronic(
        "t2dm",
        (0.002, 0.03, 0.13, 0.24),
        meds=("metformin",),
        panels=("a1c", "bmp"),
        boosted_by=(("htn", 1.6),),
    ),
    Chronic(
        "hld",
        (0.005, 0.08, 0.30, 0.45),
        meds=("atorvastatin",),
        panels=("lipid",),
        boosted_by=(("t2dm", 1.5),),
    ),
    Chronic("asthma", (0.08, 0.08, 0.08, 0.07), meds=("albuterol",)),
    Chronic("copd", (0.0, 0.005, 0.05, 0.10), meds=("albuterol",)),
    Chronic(
        "cad",
        (0.0, 0.002, 0.05, 0.14),
        meds=("aspirin",),
        boosted_by=(("htn", 1.5), ("t2dm", 1.5), ("hld", 1.4)),
    ),
    Chronic(
        "hf",
        (0.0, 0.001, 0.015, 0.07),
        meds=("furosemide", "metoprolol"),
        panels=("bmp",),
        boosted_by=(("htn", 1.8), ("cad", 2.5)),
    ),
    Chronic(
        "afib", (0.0, 0.001, 0.01, 0.08), meds=("apixaban", "metoprolol"), boosted_by=(("hf", 2.0),)
    ),
    Chronic(
        "ckd",
        (0.0, 0.003, 0.05, 0.15),
        panels=("bmp", "cbc"),
        boosted_by=(("t2dm", 2.0), ("htn", 1.5)),
    ),
    Chronic("hypothyroid", (0.003, 0.03, 0.08, 0.12), sex="female", meds=("levothyroxine",)),
    Chronic("depression", (0.02, 0.08, 0.08, 0.06), meds=("sertraline",)),
    Chronic("anxiety", (0.02, 0.06, 0.05, 0.04), meds=("sertraline",)),
    Chronic("gerd", (0.005, 0.06, 0.12, 0.15), meds=("omeprazole",)),
    Chronic("oa", (0.0, 0.005, 0.06, 0.15)),
    Chronic("osa", (0.002, 0.02, 0.07, 0.08)),
    Chronic("adhd", (0.08, 0.0, 0.0, 0.0)),
    Chronic("allergic_rhinitis", (0.08, 0.07, 0.05, 0.03)),
    Chronic("vitd", (0.0, 0.03, 0.05, 0.05)),
    Chronic("anemia", (0.01, 0.03, 0.03, 0.08), panels=("cbc",)),
)


@dataclass(frozen=True)
class Acute:
    """An acute problem presenting to clinic (AMB) or the emergency department (EMER)."""

    key: str
    setting: str
    weight: float
    min_age: int = 0
    max_age: int = 120
    sex: str | None = None
    febrile: bool = False
    panels: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()


ACUTE = (
    Acute("uri", "AMB", 5.0, febrile=True),
    Acute("pharyngitis", "AMB", 2.5, max_age=60, febrile=True),
    Acute("sinusitis", "AMB", 2.0, min_age=12),
    Acute("bronchitis", "AMB", 1.5, min_age=12),
    Acute("otitis_right", "AMB", 1.5, max_age=12, febrile=True),
    Acute("otitis_left", "AMB", 1.5, max_age=12, febrile=True),
    Acute("uti", "AMB", 2.0, min_age=16, sex="female"),
    Acute("lbp", "AMB", 2.5, min_age=20),
    Acute("influenza", "AMB", 1.0, febrile=True),
    Acute("cellulitis", "AMB", 0.6, min_age=10),
    Acute(
        "chest_pain",
        "EMER",
        2.0,
        min_age=25,
        panels=("bmp", "cbc"),
        procedures=("ecg", "chest_xray"),
    ),
    Acute("abd_pain", "EMER", 2.0, min_age=8, panels=("bmp", "cbc")),
    Acute("headache", "EMER", 1.0, min_age=10),
    Acute("sprain_right", "EMER", 0.8, min_age=8, max_age=70),
    Acute("sprain_left", "EMER", 0.8, min_age=8, max_age=70),
    Acute("gastroenteritis", "EMER", 1.0, panels=("bmp",)),
    Acute("syncope", "EMER", 0.6, min_age=40, panels=("bmp", "cbc"), procedures=("ecg",)),
    Acute("hand_laceration", "EMER", 0.6, min_age=5),
    Acute("uti", "EMER", 0.5, min_age=16, sex="female", febrile=True, panels=("cbc",)),
)


@dataclass(frozen=True)
class Inpatient:
    """A reason for a hospital stay: who gets it, how long, what is done, where they go."""

    key: str
    principal: str
    weight: float
    min_age: int = 18
    requires: tuple[str, ...] = ()  # Dx keys, one of which the patient must have
    surgical: bool = False
    los: tuple[int, int] = (2, 5)
    secondary: tuple[tuple[str, float], ...] = ()
    procedures: tuple[str, ...] = ()
    disposition: tuple[tuple[str, float], ...] = (("home", 0.85), ("snf", 0.1), ("rehab", 0.05))
    panels: tuple[str, ...] = ("bmp", "cbc")
    febrile: bool = False


INPATIENT = (
    Inpatient(
        "pneumonia",
        "pneumonia",
        3.0,
        min_age=2,
        los=(3, 6),
        febrile=True,
        secondary=(("resp_failure", 0.2), ("hyponatremia", 0.1)),
        procedures=("chest_xray",),
    ),
    Inpatient(
        "sepsis",
        "sepsis",
        1.5,
        min_age=18,
        los=(4, 9),
        febrile=True,
        secondary=(("uti", 0.7), ("aki", 0.35)),
        procedures=("central_line",),
        disposition=(("home", 0.7), ("snf", 0.2), ("hosp", 0.05), ("rehab", 0.05)),
    ),
    Inpatient(
        "hf_exac",
        "hf_acute",
        3.0,
        requires=("hf",),
        los=(3, 6),
        secondary=(("aki", 0.2), ("hyponatremia", 0.1)),
        procedures=("echo", "chest_xray"),
    ),
    Inpatient(
        "copd_exac",
        "copd_exac",
        3.0,
        requires=("copd",),
        los=(2, 5),
        secondary=(("resp_failure", 0.25),),
        procedures=("chest_xray",),
    ),
    Inpatient(
        "nstemi", "nstemi", 1.5, min_age=40, los=(2, 4), procedures=("ecg", "cardiac_cath", "pci")
    ),
    Inpatient(
        "stroke",
        "stroke",
        1.0,
        min_age=45,
        los=(3, 6),
        disposition=(("home", 0.5), ("rehab", 0.3), ("snf", 0.2)),
    ),
    Inpatient(
        "hip_fx_right",
        "hip_fx_right",
        0.6,
        min_age=65,
        surgical=True,
        los=(3, 6),
        secondary=(("fall", 1.0),),
        procedures=("hip_right",),
        disposition=(("snf", 0.6), ("rehab", 0.3), ("home", 0.1)),
    ),
    Inpatient(
        "hip_fx_left",
        "hip_fx_left",
        0.6,
        min_age=65,
        surgical=True,
        los=(3, 6),
        secondary=(("fall", 1.0),),
        procedures=("hip_left",),
        disposition=(("snf", 0.6), ("rehab", 0.3), ("home", 0.1)),
    ),
    Inpatient(
        "appendicitis",
        "appendicitis",
        1.2,
        min_age=6,
        surgical=True,
        los=(1, 2),
        febrile=True,
        procedures=("appendectomy",),
        disposition=(("home", 1.0),),
    ),
    Inpatient(
        "cholecystitis",
        "cholecystitis",
        1.0,
        min_age=20,
        surgical=True,
        los=(1, 3),
        procedures=("cholecystectomy",),
        disposition=(("home", 1.0),),
    ),
    Inpatient("gi_bleed", "gi_bleed", 0.8, min_age=40, los=(2, 4), procedures=("egd",)),
    Inpatient(
        "tka_right",
        "oa_right",
        1.5,
        min_age=50,
        requires=("oa_right", "oa_both"),
        surgical=True,
        los=(1, 3),
        procedures=("tka_right",),
        disposition=(("home", 0.8), ("rehab", 0.15), ("snf", 0.05)),
        panels=("cbc",),
    ),
    Inpatient(
        "tka_left",
        "oa_left",
        1.5,
        min_age=50,
        requires=("oa_left",),
        surgical=True,
        los=(1, 3),
        procedures=("tka_left",),
        disposition=(("home", 0.8), ("rehab", 0.15), ("snf", 0.05)),
        panels=("cbc",),
    ),
)

# Who dies in the hospital dies of something; these stays can end with disposition exp.
TERMINAL = ("pneumonia", "sepsis", "hf_exac", "stroke")
