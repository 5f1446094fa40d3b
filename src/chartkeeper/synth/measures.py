"""Catalogue of vital signs and laboratory tests: LOINC codes, UCUM units, reference ranges.

Ranges are typical adult reference intervals; a test may carry separate male and female
intervals. Panels group tests the way a lab reports them (one DiagnosticReport each).
"""

from __future__ import annotations

from dataclasses import dataclass

from .terminology import Code, loinc


@dataclass(frozen=True)
class Measure:
    key: str
    code: Code
    unit: str  # UCUM code; also used as the human-readable unit
    decimals: int
    low: float | None = None
    high: float | None = None
    low_female: float | None = None
    high_female: float | None = None
    critical_low: float | None = None
    critical_high: float | None = None
    label: str = ""  # how a clinician abbreviates it in a note

    def range_for(self, sex: str) -> tuple[float | None, float | None]:
        if sex == "female" and self.low_female is not None:
            return self.low_female, self.high_female
        return self.low, self.high


VITALS = {
    m.key: m
    for m in (
        Measure("hr", loinc("8867-4", "Heart rate"), "/min", 0, label="HR"),
        Measure("rr", loinc("9279-1", "Respiratory rate"), "/min", 0, label="RR"),
        Measure("temp", loinc("8310-5", "Body temperature"), "Cel", 1, label="Temp"),
        Measure(
            "spo2",
            loinc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
            "%",
            0,
            label="SpO2",
        ),
        Measure("weight", loinc("29463-7", "Body weight"), "kg", 1, label="Wt"),
        Measure("height", loinc("8302-2", "Body height"), "cm", 1, label="Ht"),
        Measure("bmi", loinc("39156-5", "Body mass index (BMI) [Ratio]"), "kg/m2", 1, label="BMI"),
    )
}

BP_PANEL = loinc("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = loinc("8480-6", "Systolic blood pressure")
DIASTOLIC = loinc("8462-4", "Diastolic blood pressure")

LABS = {
    m.key: m
    for m in (
        Measure(
            "glucose",
            loinc("2345-7", "Glucose [Mass/volume] in Serum or Plasma"),
            "mg/dL",
            0,
            70,
            99,
            critical_low=50,
            critical_high=400,
            label="Glucose",
        ),
        Measure(
            "a1c",
            loinc("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
            "%",
            1,
            4.0,
            5.6,
            label="HbA1c",
        ),
        Measure(
            "creatinine",
            loinc("2160-0", "Creatinine [Mass/volume] in Serum or Plasma"),
            "mg/dL",
            2,
            0.74,
            1.35,
            0.59,
            1.04,
            label="Creatinine",
        ),
        Measure(
            "bun",
            loinc("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma"),
            "mg/dL",
            0,
            7,
            20,
            label="BUN",
        ),
        Measure(
            "sodium",
            loinc("2951-2", "Sodium [Moles/volume] in Serum or Plasma"),
            "mmol/L",
            0,
            136,
            145,
            critical_low=120,
            critical_high=160,
            label="Na",
        ),
        Measure(
            "potassium",
            loinc("2823-3", "Potassium [Moles/volume] in Serum or Plasma"),
            "mmol/L",
            1,
            3.5,
            5.1,
            critical_low=2.8,
            critical_high=6.2,
            label="K",
        ),
        Measure(
            "chloride",
            loinc("2075-0", "Chloride [Moles/volume] in Serum or Plasma"),
            "mmol/L",
            0,
            98,
            107,
            label="Cl",
        ),
        Measure(
            "co2",
            loinc("2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma"),
            "mmol/L",
            0,
            22,
            29,
            label="CO2",
        ),
        Measure(
            "hgb",
            loinc("718-7", "Hemoglobin [Mass/volume] in Blood"),
            "g/dL",
            1,
            13.5,
            17.5,
            12.0,
            15.5,
            critical_low=7.0,
            label="Hgb",
        ),
        Measure(
            "wbc",
            loinc("6690-2", "Leukocytes [#/volume] in Blood by Automated count"),
            "10*3/uL",
            1,
            4.5,
            11.0,
            critical_high=30.0,
            label="WBC",
        ),
        Measure(
            "plt",
            loinc("777-3", "Platelets [#/volume] in Blood by Automated count"),
            "10*3/uL",
            0,
            150,
            400,
            label="Plt",
        ),
        Measure(
            "chol",
            loinc("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"),
            "mg/dL",
            0,
            None,
            200,
            label="Total cholesterol",
        ),
        Measure(
            "ldl",
            loinc("13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation"),
            "mg/dL",
            0,
            None,
            100,
            label="LDL",
        ),
        Measure(
            "hdl",
            loinc("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma"),
            "mg/dL",
            0,
            40,
            None,
            label="HDL",
        ),
        Measure(
            "tg",
            loinc("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma"),
            "mg/dL",
            0,
            None,
            150,
            label="Triglycerides",
        ),
    )
}


@dataclass(frozen=True)
class Panel:
    key: str
    code: Code
    tests: tuple[str, ...]


PANELS = {
    p.key: p
    for p in (
        Panel(
            "bmp",
            loinc("51990-0", "Basic metabolic panel - Blood"),
            ("glucose", "bun", "creatinine", "sodium", "potassium", "chloride", "co2"),
        ),
        Panel(
            "cbc", loinc("58410-2", "CBC panel - Blood by Automated count"), ("wbc", "hgb", "plt")
        ),
        Panel(
            "lipid",
            loinc("24331-1", "Lipid 1996 panel - Serum or Plasma"),
            ("chol", "tg", "hdl", "ldl"),
        ),
        Panel("a1c", loinc("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"), ("a1c",)),
    )
}
