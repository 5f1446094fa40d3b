"""Organ words as pathologists write them, mapped to ICD-O-3 topography.

The site lexicon is derived at run time from SEER's official topography titles
(`reference.topography()`, ../shared/data/reference/icdo3/primarySite.csv): each title in
the word orders reports use ("Upper lobe, lung" -> "upper lobe of lung", "lung upper lobe",
"upper lobe"; "Head of pancreas" -> "pancreas head", "pancreatic head"; "Prostate gland" ->
"prostate"; "Pelvic bones, sacrum, coccyx and associated joints" -> "sacrum"; "Lymph nodes
of axilla or arm" -> "axillary lymph nodes"), see `site_phrases`.

What the titles cannot give is below, and nothing else: each entry names the **official
title** it stands for (never a code typed by hand), so the code always comes from SEER's
list, and a test checks every title resolves and that no entry repeats what the titles
already derive. The groups:
- ADJECTIVES: the Latin/Greek adjectives of the organ nouns ("renal" for kidney), which
  the titles seldom use; they are applied inside titles too ("pancreatic head").
- PROCEDURES: the operation names a specimen line carries ("nephrectomy"): the organ
  removed.
- ABBREVIATIONS and SYNONYMS: report shorthand (RUL, UOQ, GEJ, TURBT) and clinical names
  the titles lack ("gastroesophageal junction" is coded to the cardia by the SEER Program
  Coding and Staging Manual; "lingula" is part of the upper lobe), each with why.
A weight under 1 (WEAK) marks a word that often names something else ("cervical" is also
the neck, "lobectomy" also the thyroid and liver).
"""

from __future__ import annotations

import re
from functools import cache

from chartkeeper.registry import reference

# --- what the official titles lack ----------------------------------------------------------

# Organ noun as the titles write it -> adjectives reports use for it.
ADJECTIVES: dict[str, tuple[str, ...]] = {
    "lung": ("pulmonary", "bronchogenic"),
    "kidney": ("renal",),
    "liver": ("hepatic",),
    "stomach": ("gastric",),
    "colon": ("colonic",),
    "breast": ("mammary",),
    "pancreas": ("pancreatic",),
    "esophagus": ("esophageal", "oesophageal"),
    "duodenum": ("duodenal",),
    "ileum": ("ileal",),
    "cecum": ("cecal",),
    "appendix": ("appendiceal",),
    "rectum": ("rectal",),
    "anus": ("anal",),
    "ampulla of vater": ("ampullary",),
    "thymus": ("thymic",),
    "pleura": ("pleural",),
    "heart": ("cardiac",),
    "spleen": ("splenic",),
    "skin": ("cutaneous", "dermal"),
    "retroperitoneum": ("retroperitoneal",),
    "peritoneum": ("peritoneal",),
    "vulva": ("vulvar",),
    "vagina": ("vaginal",),
    "endocervix": ("endocervical",),
    "cervix": ("cervical",),  # weak: also the neck's
    "endometrium": ("endometrial",),
    "myometrium": ("myometrial",),
    "uterus": ("uterine",),
    "ovary": ("ovarian",),
    "penis": ("penile",),
    "prostate": ("prostatic",),
    "testis": ("testicular",),
    "ureter": ("ureteral", "ureteric"),
    "urethra": ("urethral",),
    "bladder": ("vesical",),
    "eye": ("ocular",),
    "conjunctiva": ("conjunctival",),
    "retina": ("retinal",),
    "choroid": ("choroidal",),
    "orbit": ("orbital",),
    "meninges": ("meningeal",),
    "brain": ("cerebral",),
    "cerebellum": ("cerebellar",),
    "tonsil": ("tonsillar",),
    "oropharynx": ("oropharyngeal",),
    "nasopharynx": ("nasopharyngeal",),
    "hypopharynx": ("hypopharyngeal",),
    "pharynx": ("pharyngeal",),
    "larynx": ("laryngeal",),
    "glottis": ("glottic",),
    "supraglottis": ("supraglottic",),
    "gum": ("gingival",),
    "tongue": ("lingual",),
    "axilla": ("axillary",),
    "mediastinum": ("mediastinal",),
    "adrenal gland": ("suprarenal",),
}

# Operation names -> the official title of the organ they remove.
PROCEDURES: dict[str, str] = {
    "parotidectomy": "Parotid gland",
    "tonsillectomy": "Tonsil, NOS",
    "laryngectomy": "Larynx, NOS",
    "esophagectomy": "Esophagus, NOS",
    "gastrectomy": "Stomach, NOS",
    "appendectomy": "Appendix",
    "sigmoidectomy": "Sigmoid colon",
    "colectomy": "Colon, NOS",
    "hemicolectomy": "Colon, NOS",
    "low anterior resection": "Rectum, NOS",  # resects the rectum (LAR)
    "proctectomy": "Rectum, NOS",
    "hepatectomy": "Liver",
    "hepatic lobectomy": "Liver",
    "cholecystectomy": "Gallbladder",
    "pancreatectomy": "Pancreas, NOS",
    "pancreaticoduodenectomy": "Head of pancreas",  # Whipple: the pancreatic head
    "whipple": "Head of pancreas",
    "distal pancreatectomy": "Tail of pancreas",
    "pneumonectomy": "Lung, NOS",
    "upper lobectomy": "Upper lobe, lung",
    "lower lobectomy": "Lower lobe, lung",
    "thymectomy": "Thymus",
    "pleurectomy": "Pleura, NOS",
    "splenectomy": "Spleen",
    "mastectomy": "Breast, NOS",
    "lumpectomy": "Breast, NOS",
    "vulvectomy": "Vulva, NOS",
    "cone biopsy": "Cervix uteri",
    "cervical cone": "Cervix uteri",
    "hysterectomy": "Uterus, NOS",
    "oophorectomy": "Ovary",
    "prostatectomy": "Prostate gland",
    "orchiectomy": "Testis, NOS",
    "orchidectomy": "Testis, NOS",
    "nephrectomy": "Kidney, NOS",
    "cystectomy": "Bladder, NOS",
    "cystoprostatectomy": "Bladder, NOS",
    "turbt": "Bladder, NOS",  # transurethral resection of bladder tumour
    "transurethral resection of bladder tumor": "Bladder, NOS",
    "enucleation": "Eye, NOS",
    "craniotomy": "Brain, NOS",
    "thyroidectomy": "Thyroid gland",
    "hemithyroidectomy": "Thyroid gland",
    "thyroid lobectomy": "Thyroid gland",
    "adrenalectomy": "Adrenal gland, NOS",
    "lymphadenectomy": "Lymph node, NOS",
    "lymph node dissection": "Lymph node, NOS",
    "axillary dissection": "Lymph nodes of axilla or arm",
    "neck dissection": "Lymph nodes of head, face and neck",
}

# Report shorthand -> official title.
ABBREVIATIONS: dict[str, str] = {
    "rul": "Upper lobe, lung",
    "lul": "Upper lobe, lung",
    "rml": "Middle lobe, lung",
    "rll": "Lower lobe, lung",
    "lll": "Lower lobe, lung",
    "uiq": "Upper-inner quadrant of breast",
    "liq": "Lower-inner quadrant of breast",
    "uoq": "Upper-outer quadrant of breast",
    "loq": "Lower-outer quadrant of breast",
    "gej": "Cardia, NOS",
    "ge junction": "Cardia, NOS",
}

# Clinical names the titles lack -> official title (why, where it is not plain).
SYNONYMS: dict[str, str] = {
    # head and neck
    "vermilion border": "Lip, NOS",
    "oral tongue": "Tongue, NOS",
    "lateral tongue": "Border of tongue",
    "lateral border of tongue": "Border of tongue",
    "gingiva": "Gum, NOS",
    "alveolar ridge": "Gum, NOS",  # ICD-O-3 index: alveolar ridge mucosa is gum
    "buccal mucosa": "Cheek mucosa",
    "retromolar trigone": "Retromolar area",
    "retromolar": "Retromolar area",
    "oral cavity": "Mouth, NOS",
    "salivary gland": "Major salivary gland, NOS",
    "palatine tonsil": "Tonsil, NOS",
    "piriform sinus": "Pyriform sinus",  # the other spelling
    "vocal cord": "Glottis",
    "false vocal cord": "Supraglottis",  # the false cords are supraglottic (C32.1)
    "false cord": "Supraglottis",
    "true cord": "Glottis",
    "epiglottis": "Supraglottis",  # laryngeal surface; the anterior surface is its own title
    # digestive
    "oesophagus": "Esophagus, NOS",  # British spelling
    "distal esophagus": "Lower third of esophagus",
    "lower esophagus": "Lower third of esophagus",
    "esophagus distal": "Lower third of esophagus",  # "ESOPHAGUS, DISTAL"
    "mid esophagus": "Middle third of esophagus",
    "middle esophagus": "Middle third of esophagus",
    "esophagus mid": "Middle third of esophagus",
    "upper esophagus": "Upper third of esophagus",
    "proximal esophagus": "Upper third of esophagus",
    "esophagus proximal": "Upper third of esophagus",
    "gastroesophageal junction": "Cardia, NOS",  # SEER: GE junction is coded to the cardia
    "gastro esophageal junction": "Cardia, NOS",
    "esophagogastric junction": "Cardia, NOS",
    "antrum": "Gastric antrum",
    "small bowel": "Small intestine, NOS",
    "caecum": "Cecum",  # British spelling
    "ileocecal valve": "Cecum",  # ICD-O-3 index: ileocecal valve C18.0
    "right colon": "Ascending colon",
    "left colon": "Descending colon",
    "sigmoid": "Sigmoid colon",
    "large bowel": "Colon, NOS",
    "large intestine": "Colon, NOS",
    "colorectal": "Colon, NOS",
    "rectosigmoid": "Rectosigmoid junction",
    "rectosigmoid colon": "Rectosigmoid junction",
    "intrahepatic": "Intrahepatic bile duct",
    "common bile duct": "Extrahepatic bile duct",
    "hilar bile duct": "Extrahepatic bile duct",  # perihilar (Klatskin) ducts are C24.0
    "perihilar": "Extrahepatic bile duct",
    "hilar cholangiocarcinoma": "Extrahepatic bile duct",  # not "hilar" lymph nodes
    "bile duct": "Extrahepatic bile duct",
    "ampulla": "Ampulla of Vater",
    "gall bladder": "Gallbladder",
    # thorax
    "mainstem bronchus": "Main bronchus",
    "carina": "Main bronchus",  # ICD-O-3 index: carina C34.0
    "bronchus": "Lung, NOS",  # bronchus, NOS is C34.9 in the index
    "bronchial": "Lung, NOS",
    "parietal pleura": "Pleura, NOS",  # not the parietal lobe
    "visceral pleura": "Pleura, NOS",
    "lingula": "Upper lobe, lung",  # the lingula is part of the left upper lobe
    "lingular": "Upper lobe, lung",
    "mediastinal mass": "Mediastinum, NOS",
    # bone, skin, soft tissue
    "femur": "Long bones of lower limb and associated joints",
    "tibia": "Long bones of lower limb and associated joints",
    "fibula": "Long bones of lower limb and associated joints",
    "humerus": "Long bones of upper limb, scapula and associated joints",
    "ilium": "Pelvic bones, sacrum, coccyx and associated joints",
    "iliac wing": "Pelvic bones, sacrum, coccyx and associated joints",
    "iliac crest": "Pelvic bones, sacrum, coccyx and associated joints",
    "dermis": "Skin, NOS",
    "epidermis": "Skin, NOS",
    "skin of back": "Skin of trunk",  # the trunk's parts, as SEER's skin site rules list
    "skin of chest": "Skin of trunk",
    "skin of abdomen": "Skin of trunk",
    "skin of face": "Skin of other and unspecified parts of face",
    "skin of cheek": "Skin of other and unspecified parts of face",
    "skin of nose": "Skin of other and unspecified parts of face",
    "skin of forehead": "Skin of other and unspecified parts of face",
    "scalp": "Skin of scalp and neck",
    "skin of arm": "Skin of upper limb and shoulder",
    "skin of forearm": "Skin of upper limb and shoulder",
    "skin of hand": "Skin of upper limb and shoulder",
    "skin of leg": "Skin of lower limb and hip",
    "skin of thigh": "Skin of lower limb and hip",
    "skin of foot": "Skin of lower limb and hip",
    "skin of calf": "Skin of lower limb and hip",
    "soft tissue": "Connective, subcutaneous and other soft tissues, NOS",
    "soft tissues": "Connective, subcutaneous and other soft tissues, NOS",
    "connective tissue": "Connective, subcutaneous and other soft tissues, NOS",
    "soft tissue of thigh": "Connective, subcutaneous and other soft tissues of lower limb and hip",
    "soft tissue of leg": "Connective, subcutaneous and other soft tissues of lower limb and hip",
    "thigh mass": "Connective, subcutaneous and other soft tissues of lower limb and hip",
    "omentum": "Specified parts of peritoneum",  # ICD-O-3 index: omentum C48.1
    "omental": "Specified parts of peritoneum",
    # breast and genital
    "areola": "Nipple",
    "nipple areolar complex": "Nipple",
    "subareolar": "Central portion of breast",
    "retroareolar": "Central portion of breast",
    "tail of spence": "Axillary tail of breast",
    "uterine cervix": "Cervix uteri",
    "ectocervix": "Exocervix",
    "endometrial cavity": "Endometrium",
    "uterine corpus": "Corpus uteri",
    "body of uterus": "Corpus uteri",
    "salpinx": "Fallopian tube",
    "tubal": "Fallopian tube",
    "adnexa": "Uterine adnexa",
    "adnexal": "Uterine adnexa",
    "testicle": "Testis, NOS",
    "urinary bladder": "Bladder, NOS",
    "trigone": "Trigone of bladder",
    # eye, nervous system, endocrine
    "globe": "Eye, NOS",
    "uvea": "Ciliary body",  # ICD-O-3 index: uveal tract C69.4
    "uveal": "Ciliary body",
    "iris": "Ciliary body",
    "dura": "Meninges, NOS",
    "dural": "Meninges, NOS",
    "intracranial": "Brain, NOS",
    "cerebral hemisphere": "Cerebrum",
    "frontal": "Frontal lobe",
    "temporal": "Temporal lobe",  # "left temporal mass"
    "insula": "Cerebrum",  # ICD-O-3 index: insula, thalamus, basal ganglia are C71.0
    "insular": "Cerebrum",
    "thalamus": "Cerebrum",
    "thalamic": "Cerebrum",
    "basal ganglia": "Cerebrum",
    "hypothalamus": "Cerebrum",
    "corpus callosum": "Overlapping lesion of brain",  # C71.8 in the ICD-O-3 index
    "parietal": "Parietal lobe",
    "occipital": "Occipital lobe",
    "brainstem": "Brain stem",
    "pons": "Brain stem",
    "isthmus": "Thyroid gland",  # in a report almost always the thyroid's, not the uterus's
    "adrenocortical": "Cortex of adrenal gland",
    "adrenal cortical": "Cortex of adrenal gland",
    "sella": "Pituitary gland",
    "glomus": "Aortic body and other paraganglia",
    "paraganglia": "Aortic body and other paraganglia",
    # lymph nodes (C77): where a carcinoma spreads, not its primary
    "node": "Lymph node, NOS",
    "nodes": "Lymph node, NOS",
    "nodal": "Lymph node, NOS",
    "sentinel": "Lymph node, NOS",
    "sentinel node": "Lymph node, NOS",
    "sentinel lymph node": "Lymph node, NOS",
    "regional lymph nodes": "Lymph node, NOS",
    "cervical lymph node": "Lymph nodes of head, face and neck",
    "cervical lymph nodes": "Lymph nodes of head, face and neck",
    "level ii": "Lymph nodes of head, face and neck",  # neck dissection levels
    "level iii": "Lymph nodes of head, face and neck",
    "level iv": "Lymph nodes of head, face and neck",
    "level 2": "Lymph nodes of head, face and neck",
    "level 3": "Lymph nodes of head, face and neck",
    "level 4": "Lymph nodes of head, face and neck",
    "jugular": "Lymph nodes of head, face and neck",
    "jugulodigastric": "Lymph nodes of head, face and neck",
    "submandibular lymph node": "Lymph nodes of head, face and neck",
    "neck": "Lymph nodes of head, face and neck",  # in a path report, a neck specimen is nodes
    "supraclavicular": "Lymph nodes of head, face and neck",
    "mediastinal lymph node": "Intrathoracic lymph nodes",
    "mediastinal lymph nodes": "Intrathoracic lymph nodes",
    "hilar lymph node": "Intrathoracic lymph nodes",
    "hilar lymph nodes": "Intrathoracic lymph nodes",
    "hilar": "Intrathoracic lymph nodes",
    "peribronchial": "Intrathoracic lymph nodes",
    "subcarinal": "Intrathoracic lymph nodes",
    "paratracheal": "Intrathoracic lymph nodes",
    "station": "Intrathoracic lymph nodes",  # "station 7": the thoracic node map
    "mesenteric lymph node": "Intra-abdominal lymph nodes",
    "pericolic": "Intra-abdominal lymph nodes",
    "pericolonic": "Intra-abdominal lymph nodes",
    "perirectal": "Intra-abdominal lymph nodes",
    "periportal": "Intra-abdominal lymph nodes",
    "celiac lymph node": "Intra-abdominal lymph nodes",
    "retroperitoneal lymph nodes": "Intra-abdominal lymph nodes",
    "para aortic": "Intra-abdominal lymph nodes",
    "paraaortic": "Intra-abdominal lymph nodes",
    "periaortic": "Intra-abdominal lymph nodes",
    "axilla": "Lymph nodes of axilla or arm",  # an axillary specimen is its nodes
    "axillary": "Lymph nodes of axilla or arm",
    "groin": "Lymph nodes of inguinal region or leg",
    "inguinal": "Lymph nodes of inguinal region or leg",
    "femoral lymph node": "Lymph nodes of inguinal region or leg",
    "obturator": "Pelvic lymph nodes",
    "iliac lymph node": "Pelvic lymph nodes",
    "iliac lymph nodes": "Pelvic lymph nodes",
    "external iliac": "Pelvic lymph nodes",
    "internal iliac": "Pelvic lymph nodes",
    "common iliac": "Pelvic lymph nodes",
    "unknown primary": "Unknown primary site",
    "occult primary": "Unknown primary site",
}


# --- derived from the official titles --------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_SKIP = frozenset({"the", "a", "an"})
# Titles that are coding categories, not places a report names.
_NOT_A_PLACE = ("overlapping lesion", "other ", "ill-defined", "specified parts", "unknown")
# Ill-defined sites (C76: "abdomen", "thorax", "lower limb") and blood (C42.0) are words of
# every gross description and seldom the primary a registrar codes.
_TITLE_WEIGHT = {"C76": 0.3, "C42.0": 0.5, "C42.3": 0.5, "C42.4": 0.5}


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(w for w in _WORD.findall(phrase.lower()) if w not in _SKIP)


def _plural(noun: str) -> str:
    if noun.endswith("is"):
        return noun[:-2] + "es"  # testis -> testes
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"  # ovary -> ovaries
    if noun.endswith(("x", "s", "a")):
        return noun
    return noun + "s"


def title_forms(title: str) -> set[str]:
    """An official title in the word orders and forms reports write it in (lower case)."""
    clean = re.sub(r"\s*\[[^\]]*\]|\s+Note:.*$", "", title)
    clean = re.sub(r"\s*\(([^)]*)\)", r" \1", clean)  # "Eyelid (Skin)" -> "Eyelid Skin"
    clean = re.sub(r",?\s*NOS\b", "", clean).strip().lower().replace("-", " ")
    if clean.startswith(_NOT_A_PLACE) and not clean.startswith("specified parts of peritoneum"):
        return set()
    forms = {clean}
    # "Prostate gland" -> "prostate"; "Cervix uteri" -> "cervix"; "Medulla of adrenal gland".
    for generic in (" gland", " uteri"):
        forms |= {f.replace(generic, "") for f in forms if generic in f and f != generic.strip()}
    # Two-word titles also in the order a specimen line puts them: "COLON, TRANSVERSE".
    if len(clean.split()) == 2 and "," not in clean:
        forms.add(" ".join(reversed(clean.split())))
    # A list title names each of its parts: "Pelvic bones, sacrum, coccyx and associated
    # joints" -> "pelvic bones", "sacrum", "coccyx".
    if "associated joints" in clean:
        bones = clean.replace(" and associated joints", "")
        forms.add(bones)
        if "," in bones:
            forms |= {p.strip() for p in re.split(r",\s*|\s+and\s+", bones) if p.strip()}
    # "Lymph nodes of axilla or arm" -> "lymph nodes of axilla", "lymph nodes of arm".
    if clean.startswith("lymph nodes of "):
        for part in re.split(r",\s*|\s+or\s+|\s+and\s+", clean[len("lymph nodes of ") :]):
            forms |= {f"lymph nodes of {part}", f"lymph node of {part}"}
    for form in list(forms):
        if ", " in form:  # "upper lobe, lung" -> "upper lobe of lung", "lung upper lobe"
            head, tail = form.split(", ", 1)
            forms |= {f"{head} of {tail}", f"{head} {tail}", f"{tail} {head}"}
            forms.discard(form)
    for form in list(forms):
        if " of " in form:  # "head of pancreas" -> "pancreas head"
            head, tail = form.split(" of ", 1)
            forms.add(f"{tail} {head}")
    # The adjective for the organ noun: "pancreatic head", "axillary lymph nodes".
    for form in list(forms):
        for noun, adjectives in ADJECTIVES.items():
            if noun == form or not re.search(rf"\b{re.escape(noun)}\b", form):
                continue
            for adjective in adjectives:
                if " of " in form and form.endswith(f" of {noun}"):
                    forms.add(f"{adjective} {form[: -len(f' of {noun}')]}")
                elif form.startswith(f"{noun} "):
                    forms.add(f"{adjective} {form[len(noun) + 1 :]}")
    # Organs in the plural ("lungs", "ovaries", "fallopian tubes"), parts of a list in the
    # singular ("pelvic bone").
    forms |= {
        " ".join([*f.split()[:-1], _plural(f.split()[-1])])
        for f in forms
        if " of " not in f and len(f.split()) <= 3 and len(f.split()[-1]) > 3
    }
    forms |= {f[:-1] for f in forms if f.endswith(" bones")}
    # Skin titles name two places: "Skin of scalp and neck" -> "skin of scalp", "skin of neck".
    if clean.startswith("skin of ") and " and " in clean:
        for part in clean[len("skin of ") :].split(" and "):
            forms |= {f"skin of {part}", f"{part} skin"}
    # "lymph nodes ..." also singular.
    forms |= {f.replace("lymph nodes", "lymph node") for f in forms if "lymph nodes" in f}
    return {f for f in forms if f}


def _elisions(topography: dict[str, str]) -> dict[str, str]:
    """The part of an "X of Y" / "X, Y" title said alone, where only one title has it: "upper
    lobe" (of lung), "upper outer quadrant" (of breast), "hepatic flexure" (of colon)."""
    heads: dict[str, set[str]] = {}
    for code, title in topography.items():
        for form in title_forms(title):
            for joint in (" of ", ", "):
                if joint in form:
                    head = form.split(joint, 1)[0]
                    if len(head.split()) >= 2 and not head.startswith("specified"):
                        heads.setdefault(head, set()).add(code)
    return {head: codes.pop() for head, codes in heads.items() if len(codes) == 1}


@cache
def derived_phrases() -> dict[tuple[str, ...], str]:
    """Phrase (word tuple) -> topography code, from the official titles alone."""
    topography = reference.topography()
    found: dict[tuple[str, ...], str] = {}
    for code, title in topography.items():
        for form in title_forms(title):
            key = _words(form)
            # Short words only as a whole title ("Lip, NOS", "Eye, NOS"): as a fragment of
            # a list they are too often something else.
            one_word = len(_words(title_forms(title) and title.split(",")[0])) == 1
            if key and (len(key) > 1 or len(key[0]) > 3 or (one_word and len(key[0]) == 3)):
                found.setdefault(key, code)
    for head, code in _elisions(topography).items():
        found.setdefault(_words(head), code)
    # A lone adjective is its organ's NOS title: "pulmonary" is "lung".
    for noun, adjectives in ADJECTIVES.items():
        code = found.get(_words(noun))
        if code:
            for adjective in adjectives:
                found.setdefault(_words(adjective), code)
    return found


def title_code(title: str) -> str:
    """The code of an official title (exact SEER spelling)."""
    codes = {t: c for c, t in reference.topography().items()}
    if title not in codes:
        raise KeyError(f"not an ICD-O-3 topography title in SEER's list: {title!r}")
    return codes[title]


@cache
def site_phrases() -> dict[tuple[str, ...], tuple[str, float]]:
    """Every organ phrase -> (topography code, weight): the titles' forms, then what they
    lack (procedures, abbreviations, clinical synonyms), which win where both name one."""
    phrases = {
        key: (
            code,
            WEAK.get(" ".join(key), _TITLE_WEIGHT.get(code, _TITLE_WEIGHT.get(code[:3], 1.0))),
        )
        for key, code in derived_phrases().items()
    }
    for table in (PROCEDURES, ABBREVIATIONS, SYNONYMS):
        for phrase, title in table.items():
            phrases[_words(phrase)] = (title_code(title), WEAK.get(phrase, 1.0))
    return phrases


# Words that often name something other than a primary site: their mentions count less.
WEAK: dict[str, float] = {
    "cervical": 0.3,
    "temporal": 0.6,  # also the temporal bone and artery
    "fundus": 0.3,  # of the stomach or of the uterus
    "endocrine": 0.3,
    "mediastinal": 0.5,
    "bones": 0.5,
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

# Procedure words name the organ removed, less surely than the organ's own name.
WEAK.update(
    {
        "low anterior resection": 0.5,
        "colectomy": 0.7,
        "hemicolectomy": 0.7,
        "proctectomy": 0.6,
        "lumpectomy": 0.8,
        "mastectomy": 0.8,
        "partial mastectomy": 0.8,
        "nephrectomy": 0.8,
        "prostatectomy": 0.8,
        "gastrectomy": 0.8,
        "esophagectomy": 0.8,
        "pancreatectomy": 0.8,
        "pancreaticoduodenectomy": 0.7,
        "hepatectomy": 0.7,
        "cystectomy": 0.8,
        "cystoprostatectomy": 0.7,
        "thyroidectomy": 0.8,
        "laryngectomy": 0.8,
        "oophorectomy": 0.6,
        "orchiectomy": 0.8,
        "adrenalectomy": 0.8,
        "thymectomy": 0.8,
        "craniotomy": 0.6,
        "pneumonectomy": 0.8,
        "upper lobectomy": 0.8,
        "lower lobectomy": 0.8,
        "sigmoidectomy": 0.8,
        "cholecystectomy": 0.5,
    }
)

# Body regions a skin, soft tissue or nerve specimen names ("SKIN, LEFT THIGH"), as the
# words the official titles of those categories use for them ("Skin of lower limb and
# hip", "... soft tissues of lower limb and hip"): the subsite within the category. Tried
# in order; the first a title of the chosen category holds wins.
REGIONS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("back", "flank", "trunk", "shoulder blade"), ("trunk",)),
    **dict.fromkeys(("chest", "breast", "chest wall"), ("thorax", "trunk")),
    **dict.fromkeys(("abdomen", "abdominal", "abdominal wall"), ("abdomen", "trunk")),
    **dict.fromkeys(("buttock", "groin", "perineum"), ("pelvis", "trunk")),
    **dict.fromkeys(
        ("thigh", "leg", "knee", "calf", "ankle", "foot", "toe", "heel", "shin", "hip"),
        ("lower limb",),
    ),
    **dict.fromkeys(
        ("arm", "forearm", "elbow", "wrist", "hand", "finger", "thumb", "shoulder", "upper arm"),
        ("upper limb",),
    ),
    **dict.fromkeys(
        ("face", "nose", "nasal", "cheek", "forehead", "temple", "chin", "jaw", "malar"),
        ("face",),
    ),
    **dict.fromkeys(("scalp",), ("scalp",)),
    **dict.fromkeys(("neck",), ("neck",)),
    **dict.fromkeys(("eyelid", "canthus"), ("eyelid",)),
    **dict.fromkeys(("ear", "auricle", "helix"), ("ear",)),
}
REGION_CATEGORIES = ("C44", "C47", "C49")


def region_code(category: str, region_word: str) -> str | None:
    """The subsite of `category` (C44, C47, C49) a region word names, from the titles."""
    titles = {
        c: t.lower()
        for c, t in reference.topography().items()
        if c.startswith(category) and c[-1] not in "89"
    }
    for phrase in REGIONS.get(region_word, ()):
        for code, title in sorted(titles.items()):
            if re.search(rf"\b{re.escape(phrase)}\b", title):
                return code
    return None


# A breast tumour's clock position as the examiner faces the patient, to the quadrant
# (SEER breast site coding): on the right breast 12-3 o'clock is upper inner, on the left
# upper outer. The hours on a quadrant line (12, 3, 6, 9) overlap two quadrants (C50.8).
def breast_quadrant(hour: int, laterality: str) -> str | None:
    if laterality not in ("1", "2") or not 1 <= hour <= 12:
        return None
    if hour in (12, 3, 6, 9):
        return "C50.8"
    right = {0: "C50.2", 1: "C50.3", 2: "C50.5", 3: "C50.4"}  # by quarter of the clock
    left = {0: "C50.4", 1: "C50.5", 2: "C50.3", 3: "C50.2"}
    quarter = (hour % 12) // 3
    return (right if laterality == "1" else left)[quarter]


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
    (9732, 9732, "C42.1"),  # plasma cell myeloma: bone marrow (SEER hematopoietic rules)
    (9800, 9948, "C42.1"),  # leukemias: bone marrow
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
