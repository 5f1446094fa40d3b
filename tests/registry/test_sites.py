"""The site lexicon is grounded in SEER's topography titles: derived from them, with only
the report words they lack added, each naming an official title."""

from __future__ import annotations

import pytest

from chartkeeper.registry import sites

pytestmark = pytest.mark.usefixtures("icdo3_reference")


def test_every_added_word_names_an_official_title():
    for table in (sites.PROCEDURES, sites.ABBREVIATIONS, sites.SYNONYMS):
        for phrase, title in table.items():
            assert sites.title_code(title), phrase
    with pytest.raises(KeyError):
        sites.title_code("Lung")  # the title is "Lung, NOS"


def test_added_words_do_not_repeat_what_the_titles_give():
    derived = sites.derived_phrases()
    allowed_overrides = {"isthmus"}  # the thyroid's in reports, not the uterus's
    for table in (sites.PROCEDURES, sites.ABBREVIATIONS, sites.SYNONYMS):
        for phrase in table:
            key = sites._words(phrase)
            assert key not in derived or phrase in allowed_overrides, phrase


@pytest.mark.parametrize(
    ("phrase", "code"),
    [
        ("prostate", "C61.9"),  # "Prostate gland"
        ("cervix", "C53.9"),  # "Cervix uteri"
        ("upper lobe", "C34.1"),  # "Upper lobe, lung", said alone
        ("lung upper lobe", "C34.1"),
        ("pancreatic head", "C25.0"),  # "Head of pancreas" with the organ's adjective
        ("axillary lymph nodes", "C77.3"),  # "Lymph nodes of axilla or arm"
        ("sacrum", "C41.4"),  # a part of "Pelvic bones, sacrum, coccyx and ..."
        ("fallopian tubes", "C57.0"),
        ("ovaries", "C56.9"),
        ("skin of scalp", "C44.4"),  # "Skin of scalp and neck"
        ("renal", "C64.9"),
        ("hepatic flexure", "C18.3"),
        ("adrenal medulla", "C74.1"),  # "Medulla of adrenal gland"
    ],
)
def test_title_forms(phrase, code):
    assert sites.site_phrases()[sites._words(phrase)][0] == code


def test_title_forms_leave_out_coding_categories():
    assert sites.title_forms("Overlapping lesion of lung") == set()
    assert sites.title_forms("Other ill-defined sites") == set()
    assert "face" not in {
        f for f in sites.title_forms("Bones of skull and face and associated joints")
    }
