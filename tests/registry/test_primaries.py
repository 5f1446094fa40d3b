"""Multiple-primary decisions: each rule, by its id, on a hand-made pair of tumours."""

from __future__ import annotations

from datetime import date

import pytest

from chartkeeper.registry.primaries import RULES, Tumor, decide

D = date(2024, 3, 1)


def t(site, histology="8140", behavior="3", side="0", when=D) -> Tumor:
    return Tumor(site, histology, behavior, side, when)


@pytest.mark.parametrize(
    ("first", "new", "same", "rule"),
    [
        (t("C50.4", "8500", side="2"), t("C80.9"), True, "MP-UNKNOWN"),
        (t("C34.1"), t("C18.7"), False, "MP-SITE"),
        (t("C61.9"), t("C61.9", when=date(2031, 1, 1)), True, "MP-PROSTATE"),
        (t("C50.4", "8500", side="2"), t("C50.2", "8500", side="1"), False, "MP-LATERALITY"),
        (t("C56.9", "8441", side="1"), t("C56.9", "8441", side="2"), True, "MP-OVARY-BILATERAL"),
        (t("C34.1", side="1"), t("C34.3", side="1", when=date(2028, 1, 1)), False, "MP-TIMING"),
        (t("C18.0"), t("C18.7", when=date(2024, 4, 1)), False, "MP-COLON-SUBSITE"),
        (t("C44.5", "8720", side="1"), t("C44.7", "8743", side="1"), False, "MP-MELANOMA-SUBSITE"),
        (t("C67.2", "8120", behavior="2"), t("C67.0", "8130"), True, "MP-BLADDER-UROTHELIAL"),
        (t("C50.4", "8500", side="2"), t("C50.4", "8720", side="2"), False, "MP-HISTOLOGY"),
        (
            t("C50.4", "8500", behavior="2", side="2"),
            t("C50.4", "8500", side="2", when=date(2024, 9, 1)),
            False,
            "MP-BREAST-INSITU",
        ),
        (t("C50.4", "8500", side="2"), t("C50.2", "8500", side="2"), True, "MP-SAME"),
        (t("C18.7"), t("C18.9"), True, "MP-SAME"),  # NOS subsite: not a different subsite
    ],
)
def test_each_rule(first, new, same, rule):
    decision = decide(first, new)
    assert (decision.same_primary, decision.rule_id) == (same, rule), decision.rule
    assert rule in RULES and decision.rule.startswith(f"{rule}: ")


def test_every_rule_is_reachable():
    # The table above reaches every rule id the module declares.
    assert set(RULES) == {
        "MP-UNKNOWN",
        "MP-SITE",
        "MP-PROSTATE",
        "MP-LATERALITY",
        "MP-OVARY-BILATERAL",
        "MP-TIMING",
        "MP-COLON-SUBSITE",
        "MP-MELANOMA-SUBSITE",
        "MP-BLADDER-UROTHELIAL",
        "MP-HISTOLOGY",
        "MP-BREAST-INSITU",
        "MP-SAME",
    }
