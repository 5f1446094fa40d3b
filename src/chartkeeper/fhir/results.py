"""Results as a clinician reads them: a patient's Observations grouped into one series per
test (latest value first, plottable when numeric), and the points of one test's trend.

Pure functions over R4 resources as JSON (no store): the chart view, the API and the CLI
group results the same way. A value is shown as recorded (quantity with its unit, a coded
or a string value); only LOINC-coded numeric series with two or more values are offered as
a trend.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

LOINC = "http://loinc.org"
_TIME_FIELDS = (
    "effectiveDateTime",
    "issued",
    "authoredOn",
    "recordedDate",
    "onsetDateTime",
    "date",
)


def concept(value: dict | None) -> tuple[str, str, str]:
    """A CodeableConcept's first coding as (system, code, text to show)."""
    coding = ((value or {}).get("coding") or [{}])[0]
    text = (value or {}).get("text") or coding.get("display") or coding.get("code", "")
    return coding.get("system", ""), coding.get("code", ""), text


def clinical_time(res: dict) -> str:
    """When the thing a resource records happened (effective, issued, authored, recorded,
    onset, date; else its period's start), as written, or ""."""
    for key in _TIME_FIELDS:
        if res.get(key):
            return res[key]
    period = res.get("period") or res.get("effectivePeriod") or {}
    return period.get("start", "")


def result_series(observations: list[dict]) -> list[dict]:
    """One entry per test (by code, else by name), by title: `title`, `code`, `system`,
    `unit`, `points` (newest first, each `when`, numeric `value` or None, `shown`),
    `latest` and `plottable`."""
    series: dict[str, dict] = defaultdict(lambda: {"points": []})
    for obs in observations:
        system, code, text = concept(obs.get("code"))
        qty = obs.get("valueQuantity")
        value = qty.get("value") if isinstance(qty, dict) else None
        shown = (
            f"{value} {qty.get('unit', '')}".strip()
            if value is not None
            else concept(obs.get("valueCodeableConcept"))[2] or obs.get("valueString", "")
        )
        row = series[code or text]
        row.update(
            code=code,
            system=system,
            title=text,
            unit=(qty or {}).get("unit", "") if isinstance(qty, dict) else "",
        )
        row["points"].append({"when": clinical_time(obs), "value": value, "shown": shown})
    out = []
    for row in series.values():
        row["points"].sort(key=lambda p: p["when"], reverse=True)
        row["latest"] = row["points"][0]
        row["plottable"] = (
            row["system"] == LOINC and sum(p["value"] is not None for p in row["points"]) >= 2
        )
        out.append(row)
    return sorted(out, key=lambda r: r["title"])


def trend(observations: list[dict], code: str = "") -> dict:
    """One test's numeric values over time, for a plot: `title`, `unit`, `points` (time,
    value) oldest first, and the reference range (`low`, `high`) when one is recorded.
    Values without a number or a readable time are left out."""
    points, title, unit, low, high = [], code, "", None, None
    for obs in observations:
        qty = obs.get("valueQuantity") or {}
        if not isinstance(qty.get("value"), int | float):
            continue
        try:
            when = datetime.fromisoformat(clinical_time(obs).replace("Z", "+00:00"))
        except ValueError:
            continue
        if when.tzinfo is None:  # a local time without a zone: read as UTC, so all compare
            when = when.replace(tzinfo=UTC)
        points.append((when, float(qty["value"])))
        title, unit = concept(obs.get("code"))[2], qty.get("unit", "")
        for rr in obs.get("referenceRange", [])[:1]:
            low, high = (rr.get("low") or {}).get("value"), (rr.get("high") or {}).get("value")
    points.sort()
    return {"title": title, "unit": unit, "points": points, "low": low, "high": high}
