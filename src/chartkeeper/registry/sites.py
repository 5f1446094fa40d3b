"""Organ words as pathologists write them, mapped to ICD-O-3 topography.

SEER's topography labels (`reference.topography()`, e.g. "Upper lobe, lung") are the base of
the site lexicon; `lexicon.site_lexicon` turns each into the word orders reports use ("upper
lobe of the lung", "lung, upper lobe"). The labels do not hold the adjectives and procedure
words reports are written in ("pulmonary", "renal", "colonic", "prostatectomy",
"RUL"), nor SEER's coding instructions for a few of them; those are below, each a phrase
and the code the SEER Program Coding and Staging Manual (primary site rules) or the ICD-O-3
topography index gives it. A weight under 1 marks a word that often names something else
("cervical" is also the neck, "lobectomy" also the thyroid and liver).
"""

from __future__ import annotations

# code -> phrases (lower case; words separated by spaces). Longest phrase wins in the text.
ORGAN_WORDS: dict[str, tuple[str, ...]] = {
    # head and neck (C00-C14, C30-C32)
    "C00.9": ("lip", "vermilion border"),
    "C01.9": ("base of tongue", "tongue base", "base of the tongue"),
    "C02.9": ("tongue", "oral tongue", "lingual"),
    "C02.1": ("lateral tongue", "lateral border of tongue", "tongue lateral"),
    "C03.9": ("gingiva", "gum", "alveolar ridge", "gingival"),
    "C04.9": ("floor of mouth", "mouth floor", "floor of the mouth"),
    "C05.9": ("palate",),
    "C05.0": ("hard palate",),
    "C05.1": ("soft palate",),
    "C06.0": ("buccal mucosa", "cheek mucosa"),
    "C06.2": ("retromolar trigone", "retromolar"),
    "C06.9": ("oral cavity", "mouth"),
    "C07.9": ("parotid", "parotid gland", "parotidectomy"),
    "C08.9": ("salivary gland",),
    "C08.0": ("submandibular gland",),
    "C09.9": ("tonsil", "tonsillar", "tonsillectomy", "palatine tonsil"),
    "C10.9": ("oropharynx", "oropharyngeal"),
    "C11.9": ("nasopharynx", "nasopharyngeal"),
    "C13.9": ("hypopharynx", "hypopharyngeal"),
    "C12.9": ("pyriform sinus", "piriform sinus"),
    "C14.0": ("pharynx", "pharyngeal"),
    "C30.0": ("nasal cavity",),
    "C31.0": ("maxillary sinus",),
    "C32.9": ("larynx", "laryngeal", "laryngectomy"),
    "C32.0": ("glottis", "glottic", "vocal cord", "true vocal cord"),
    "C32.1": ("supraglottis", "supraglottic", "epiglottis"),
    # digestive (C15-C26)
    "C15.9": ("esophagus", "oesophagus", "esophageal", "oesophageal", "esophagectomy"),
    "C15.5": ("distal esophagus", "lower esophagus", "lower third of esophagus"),
    "C16.0": (
        "gastroesophageal junction",
        "gastro esophageal junction",
        "ge junction",
        "gej",
        "esophagogastric junction",
        "cardia",
    ),
    "C16.9": ("stomach", "gastric", "gastrectomy"),
    "C16.3": ("antrum", "gastric antrum"),
    "C17.0": ("duodenum", "duodenal"),
    "C17.1": ("jejunum",),
    "C17.2": ("ileum", "ileal"),
    "C17.9": ("small bowel", "small intestine"),
    "C18.0": ("cecum", "caecum", "cecal", "ileocecal valve"),
    "C18.1": ("appendix", "appendiceal", "appendectomy"),
    "C18.2": ("ascending colon", "right colon"),
    "C18.6": ("descending colon", "left colon"),
    "C18.7": ("sigmoid", "sigmoid colon", "sigmoidectomy"),
    "C18.9": (
        "colon",
        "colonic",
        "colectomy",
        "large bowel",
        "large intestine",
        "hemicolectomy",
        "colorectal",
    ),
    "C19.9": ("rectosigmoid", "rectosigmoid junction", "rectosigmoid colon"),
    "C20.9": ("rectum", "rectal", "low anterior resection", "proctectomy"),
    "C21.0": ("anus", "anal"),
    "C21.1": ("anal canal",),
    "C22.0": ("liver", "hepatic", "hepatectomy", "hepatic lobectomy", "hepatocellular"),
    "C22.1": ("intrahepatic bile duct", "intrahepatic"),
    "C23.9": ("gallbladder", "gall bladder", "cholecystectomy"),
    "C24.0": ("extrahepatic bile duct", "common bile duct", "bile duct", "hilar bile duct"),
    "C24.1": ("ampulla of vater", "ampulla", "ampullary"),
    "C25.9": ("pancreas", "pancreatic", "pancreatectomy", "pancreaticoduodenectomy", "whipple"),
    "C25.0": ("head of pancreas", "pancreatic head", "pancreas head"),
    "C25.1": ("body of pancreas", "pancreatic body"),
    "C25.2": ("tail of pancreas", "pancreatic tail", "distal pancreatectomy"),
    # respiratory and thoracic (C34-C39)
    "C34.0": ("main bronchus", "mainstem bronchus", "carina"),
    "C34.9": (
        "lung",
        "lungs",
        "pulmonary",
        "pneumonectomy",
        "bronchus",
        "bronchial",
        "bronchogenic",
        "lung parenchyma",
    ),
    "C34.1": (
        "upper lobe",
        "rul",
        "lul",
        "right upper lobe",
        "left upper lobe",
        "upper lobectomy",
        "lingula",
        "lingular",
    ),
    "C34.2": ("middle lobe", "rml", "right middle lobe"),
    "C34.3": ("lower lobe", "rll", "lll", "right lower lobe", "left lower lobe", "lower lobectomy"),
    "C37.9": ("thymus", "thymic", "thymectomy"),
    "C38.1": ("anterior mediastinum",),
    "C38.3": ("mediastinum", "mediastinal mass"),
    "C38.4": ("pleura", "pleural", "pleurectomy", "parietal pleura", "visceral pleura"),
    "C38.0": ("heart", "cardiac"),
    # bone, marrow, skin, soft tissue (C40-C49)
    "C40.2": ("femur", "tibia", "fibula", "long bones of lower limb"),
    "C40.0": ("humerus",),
    "C41.9": ("bone",),
    "C41.4": ("pelvic bone", "sacrum", "ilium"),
    "C42.1": ("bone marrow",),
    "C42.2": ("spleen", "splenic", "splenectomy"),
    "C44.9": ("skin", "cutaneous", "dermis", "epidermis", "dermal"),
    "C44.5": ("skin of back", "skin of trunk", "skin of chest", "skin of abdomen"),
    "C44.3": ("skin of face", "skin of cheek", "skin of nose", "skin of forehead"),
    "C44.4": ("scalp", "skin of scalp", "skin of neck"),
    "C44.6": ("skin of arm", "skin of forearm", "skin of shoulder", "skin of hand"),
    "C44.7": ("skin of leg", "skin of thigh", "skin of foot", "skin of calf"),
    "C49.9": ("soft tissue", "soft tissues", "connective tissue"),
    "C49.2": ("soft tissue of thigh", "soft tissue of leg", "thigh mass"),
    "C48.0": ("retroperitoneum", "retroperitoneal"),
    "C48.2": ("peritoneum", "peritoneal", "omentum", "omental"),
    # breast and female genital (C50-C58)
    "C50.9": (
        "breast",
        "breasts",
        "mammary",
        "mastectomy",
        "lumpectomy",
        "partial mastectomy",
        "segmental mastectomy",
    ),
    "C50.0": ("nipple", "areola", "nipple areolar complex"),
    "C50.1": ("central portion of breast", "subareolar", "retroareolar"),
    "C50.2": ("upper inner quadrant", "uiq"),
    "C50.3": ("lower inner quadrant", "liq"),
    "C50.4": ("upper outer quadrant", "uoq"),
    "C50.5": ("lower outer quadrant", "loq"),
    "C50.6": ("axillary tail", "axillary tail of breast", "tail of spence"),
    "C51.9": ("vulva", "vulvar", "vulvectomy"),
    "C52.9": ("vagina", "vaginal"),
    "C53.9": ("cervix", "cervix uteri", "uterine cervix", "cervical cone", "cone biopsy"),
    "C53.0": ("endocervix", "endocervical"),
    "C53.1": ("ectocervix", "exocervix"),
    "C54.1": ("endometrium", "endometrial", "endometrial cavity"),
    "C54.9": ("corpus uteri", "uterine corpus", "corpus", "body of uterus"),
    "C54.2": ("myometrium", "myometrial"),
    "C55.9": ("uterus", "uterine", "hysterectomy"),
    "C56.9": ("ovary", "ovaries", "ovarian", "oophorectomy"),
    "C57.0": ("fallopian tube", "fallopian tubes", "salpinx", "tubal"),
    "C57.4": ("adnexa", "adnexal", "uterine adnexa"),
    # male genital and urinary (C60-C68)
    "C60.9": ("penis", "penile"),
    "C61.9": ("prostate", "prostatic", "prostatectomy", "prostate gland"),
    "C62.9": ("testis", "testes", "testicle", "testicular", "orchiectomy", "orchidectomy"),
    "C64.9": (
        "kidney",
        "kidneys",
        "renal",
        "nephrectomy",
        "partial nephrectomy",
        "renal parenchyma",
        "renal cortex",
    ),
    "C65.9": ("renal pelvis",),
    "C66.9": ("ureter", "ureteral", "ureteric"),
    "C67.9": (
        "bladder",
        "urinary bladder",
        "cystectomy",
        "cystoprostatectomy",
        "vesical",
        "turbt",
        "transurethral resection of bladder tumor",
    ),
    "C67.0": ("trigone", "bladder trigone"),
    "C67.1": ("bladder dome", "dome of bladder"),
    "C68.0": ("urethra", "urethral"),
    # eye, brain, nervous system, endocrine (C69-C75)
    "C69.9": ("eye", "globe", "enucleation", "ocular"),
    "C69.0": ("conjunctiva", "conjunctival"),
    "C69.2": ("retina", "retinal"),
    "C69.3": ("choroid", "choroidal"),
    "C69.4": ("ciliary body", "uvea", "uveal", "iris"),
    "C69.6": ("orbit", "orbital"),
    "C70.9": ("meninges", "meningeal", "dura", "dural"),
    "C71.9": ("brain", "cerebral", "intracranial", "craniotomy", "brain tumor"),
    "C71.0": ("cerebrum", "cerebral hemisphere"),
    "C71.6": ("cerebellum", "cerebellar"),
    "C71.7": ("brain stem", "brainstem", "pons"),
    "C72.0": ("spinal cord",),
    "C73.9": (
        "thyroid",
        "thyroid gland",
        "thyroidectomy",
        "thyroid lobe",
        "thyroid lobectomy",
        "hemithyroidectomy",
        "isthmus",
    ),
    "C74.9": ("adrenal", "adrenal gland", "adrenalectomy", "suprarenal"),
    "C74.0": ("adrenal cortex", "adrenal cortical", "adrenocortical"),
    "C74.1": ("adrenal medulla",),
    "C75.0": ("parathyroid", "parathyroid gland"),
    "C75.1": ("pituitary", "pituitary gland", "sella"),
    "C75.5": ("carotid body", "glomus", "paraganglia"),
    # lymph nodes (C77): the nodes are where a carcinoma spreads, not its primary
    "C77.9": (
        "lymph node",
        "lymph nodes",
        "node",
        "nodes",
        "nodal",
        "sentinel",
        "sentinel node",
        "sentinel lymph node",
        "lymphadenectomy",
        "lymph node dissection",
        "regional lymph nodes",
    ),
    "C77.0": (
        "neck dissection",
        "cervical lymph node",
        "cervical lymph nodes",
        "neck lymph node",
        "neck lymph nodes",
        "level ii",
        "level iii",
        "level iv",
        "level 2",
        "level 3",
        "level 4",
        "jugular",
        "jugulodigastric",
        "submandibular lymph node",
        "neck",
        "supraclavicular",
    ),
    "C77.1": (
        "mediastinal lymph node",
        "mediastinal lymph nodes",
        "hilar lymph node",
        "hilar lymph nodes",
        "peribronchial",
        "subcarinal",
        "paratracheal",
        "station",
        "hilar",
    ),
    "C77.2": (
        "mesenteric lymph node",
        "pericolic",
        "pericolonic",
        "perirectal",
        "periportal",
        "celiac lymph node",
        "retroperitoneal lymph nodes",
        "para aortic",
        "paraaortic",
        "periaortic",
    ),
    "C77.3": (
        "axilla",
        "axillary",
        "axillary lymph node",
        "axillary lymph nodes",
        "axillary dissection",
    ),
    "C77.4": ("inguinal", "groin", "inguinal lymph node", "femoral lymph node"),
    "C77.5": (
        "pelvic lymph node",
        "pelvic lymph nodes",
        "obturator",
        "iliac lymph node",
        "iliac lymph nodes",
        "external iliac",
        "internal iliac",
        "common iliac",
    ),
    "C80.9": ("unknown primary", "unknown primary site", "occult primary"),
}

# Words that often name something other than a primary site: their mentions count less.
WEAK: dict[str, float] = {
    "cervical": 0.3,
    "corpus": 0.3,
    "station": 0.3,
    "hilar": 0.4,
    "neck": 0.4,
    "globe": 0.3,
    "iris": 0.3,
    "dura": 0.5,
    "lip": 0.4,
    "gum": 0.4,
    "mouth": 0.6,
    "whipple": 0.6,
    "bone": 0.5,
    "cardia": 0.7,
    "glomus": 0.5,
    "isthmus": 0.4,
    "sella": 0.5,
    "anal": 0.6,
    "heart": 0.3,
    "cardiac": 0.2,
    "uterine": 0.7,
    "hepatic": 0.6,
    "tubal": 0.5,
    "lingual": 0.4,
    "ocular": 0.5,
    "eye": 0.6,
    "orbit": 0.6,
    "orbital": 0.6,
    "bronchial": 0.5,
    "intrahepatic": 0.8,
    "ampulla": 0.7,
    "jugular": 0.5,
    "node": 0.8,
    "nodes": 0.8,
    "hysterectomy": 0.6,
    "skin": 0.8,
    "dermal": 0.4,
    "dermis": 0.5,
    "pleural": 0.6,
    "peritoneal": 0.6,
    "omentum": 0.6,
    "omental": 0.6,
    "mediastinum": 0.7,
    "spleen": 0.7,
    "splenic": 0.5,
    "thigh mass": 0.7,
    "soft tissue": 0.6,
    "soft tissues": 0.6,
    "carina": 0.6,
    "adnexa": 0.7,
    "adnexal": 0.7,
    "trigone": 0.8,
    "colorectal": 0.8,
}

# Paired organs (SEER Program Coding and Staging Manual, laterality: sites for which
# laterality must be coded), by topography code prefix.
PAIRED_SITES: tuple[str, ...] = (
    "C07.9",
    "C08.0",
    "C08.1",
    "C09.0",
    "C09.1",
    "C09.8",
    "C09.9",
    "C30.0",
    "C30.1",
    "C31.0",
    "C31.2",
    "C34.0",
    "C34.1",
    "C34.2",
    "C34.3",
    "C34.8",
    "C34.9",
    "C38.4",
    "C40.0",
    "C40.1",
    "C40.2",
    "C40.3",
    "C41.3",
    "C41.4",
    "C44.1",
    "C44.2",
    "C44.3",
    "C44.5",
    "C44.6",
    "C44.7",
    "C47.1",
    "C47.2",
    "C49.1",
    "C49.2",
    "C50",
    "C56.9",
    "C57.0",
    "C62",
    "C63.0",
    "C63.1",
    "C64.9",
    "C65.9",
    "C66.9",
    "C69",
    "C70.0",
    "C71.0",
    "C71.1",
    "C71.2",
    "C71.3",
    "C71.4",
    "C72.2",
    "C72.3",
    "C72.4",
    "C72.5",
    "C74",
    "C75.4",
)


def is_paired(site: str) -> bool:
    return any(site.startswith(prefix) for prefix in PAIRED_SITES)


# Histologies that point at one organ (ICD-O-3 morphology ranges; the SEER term list's own
# site hints, e.g. "(C73.9)", are added from the reference file). A prior, never decisive.
HISTOLOGY_SITES: tuple[tuple[int, int, str], ...] = (
    (8170, 8175, "C22.0"),  # hepatocellular carcinoma
    (8160, 8161, "C22.1"),  # cholangiocarcinoma
    (8310, 8312, "C64.9"),  # clear cell / renal cell carcinoma
    (8317, 8320, "C64.9"),  # chromophobe, granular renal cell
    (8120, 8131, "C67.9"),  # urothelial carcinoma
    (9380, 9451, "C71.9"),  # gliomas, astrocytoma, glioblastoma, oligodendroglioma
    (9060, 9091, "C62.9"),  # germ cell tumours, seminoma
    (8700, 8700, "C74.1"),  # pheochromocytoma
    (8680, 8693, "C75.5"),  # paraganglioma
    (8370, 8375, "C74.0"),  # adrenal cortical carcinoma
    (8580, 8589, "C37.9"),  # thymoma
    (9050, 9055, "C38.4"),  # mesothelioma
    (8720, 8790, "C44.9"),  # melanoma: unknown primary melanoma is coded to skin, NOS
    (8500, 8543, "C50.9"),  # ductal, lobular, Paget
    (8330, 8350, "C73.9"),  # follicular, papillary thyroid, medullary
    (8380, 8383, "C54.1"),  # endometrioid
    (8950, 8951, "C54.1"),  # carcinosarcoma / MMMT
    (8980, 8981, "C54.1"),
    (8090, 8098, "C44.9"),  # basal cell carcinoma
    (8936, 8936, "C16.9"),  # GIST
    (9590, 9729, "C77.9"),  # lymphoma: a lymph node is a primary site
)

LYMPHOMA = (9590, 9729)


def histology_site(histology: str) -> str | None:
    try:
        number = int(histology)
    except ValueError:
        return None
    for low, high, site in HISTOLOGY_SITES:
        if low <= number <= high:
            return site
    return None
