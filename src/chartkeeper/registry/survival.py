"""Observed survival: Kaplan-Meier estimates by site and stage, with confidence intervals
(lifelines' KaplanMeierFitter, Greenwood variance, exponential-Greenwood "log(-log)"
intervals), 1-, 3- and 5-year survival, and a plot.

Survival time runs from the date of diagnosis to death (event) or to the date of last
contact (censored), as the registry's own follow-up records them. Observed, all-cause
survival: relative survival would need life tables we do not ship.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date

from chartkeeper.errors import BadRequest
from chartkeeper.figures import drawn_once

YEARS = (1, 3, 5)
STAGE_NAMES = {
    "0": "in situ",
    "1": "localized",
    "2": "regional (direct extension)",
    "3": "regional (nodes)",
    "4": "regional (extension and nodes)",
    "5": "regional, NOS",
    "7": "distant",
    "8": "benign/borderline",
    "9": "unknown",
}


@dataclass
class SurvivalCase:
    group: str
    years: float
    died: bool


@dataclass
class GroupSurvival:
    group: str
    cases: int
    deaths: int
    at: dict[int, dict]  # year -> {survival, lower, upper, at_risk}
    median_years: float | None

    def as_json(self) -> dict:
        return asdict(self)


def survival_time(diagnosed: str, last_contact: str, died: bool) -> SurvivalCase:
    start, end = date.fromisoformat(diagnosed[:10]), date.fromisoformat(last_contact[:10])
    if end < start:
        raise BadRequest(f"last contact {last_contact} is before diagnosis {diagnosed}")
    return SurvivalCase("", (end - start).days / 365.25, died)


def kaplan_meier(cases: list[SurvivalCase]) -> list[GroupSurvival]:
    """One Kaplan-Meier curve per group, with the survival at 1, 3 and 5 years."""
    from lifelines import KaplanMeierFitter

    groups: dict[str, list[SurvivalCase]] = defaultdict(list)
    for case in cases:
        groups[case.group].append(case)
    results = []
    for group, members in sorted(groups.items()):
        kmf = KaplanMeierFitter()
        kmf.fit([m.years for m in members], [m.died for m in members], label=group)
        bands = kmf.confidence_interval_survival_function_
        at = {}
        longest = max(m.years for m in members)
        for year in YEARS:
            if longest < year:  # nobody followed that long: the curve says nothing there
                at[year] = {
                    "survival": None,
                    "lower": None,
                    "upper": None,
                    "at_risk": 0,
                    "reliable": False,
                }
                continue
            survival = float(kmf.survival_function_at_times(year).iloc[0])
            row = bands[bands.index <= year].iloc[-1]
            at_risk = sum(m.years >= year for m in members)
            at[year] = {
                "survival": round(survival, 4),
                "lower": round(float(row.iloc[0]), 4),
                "upper": round(float(row.iloc[1]), 4),
                "at_risk": at_risk,
                "reliable": at_risk > 0,
            }
        median = kmf.median_survival_time_
        results.append(
            GroupSurvival(
                group,
                len(members),
                sum(m.died for m in members),
                at,
                None if median == float("inf") else round(float(median), 3),
            )
        )
    return results


@drawn_once
def plot(cases: list[SurvivalCase], title: str = "Observed survival (Kaplan-Meier)") -> bytes:
    """The curves with their confidence bands, as PNG. Drawn on a figure of its own (no
    pyplot state: concurrent requests never share one), and once per set of cases."""
    from lifelines import KaplanMeierFitter
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups: dict[str, list[SurvivalCase]] = defaultdict(list)
    for case in cases:
        groups[case.group].append(case)
    fig = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for group, members in sorted(groups.items()):
        kmf = KaplanMeierFitter()
        kmf.fit(
            [m.years for m in members],
            [m.died for m in members],
            label=f"{group} (n={len(members)})",
        )
        kmf.plot_survival_function(ax=ax, ci_show=True)
    ax.set_xlabel("Years since diagnosis")
    ax.set_ylabel("Proportion surviving")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    for year in YEARS:
        ax.axvline(year, color="grey", linewidth=0.5, linestyle=":")
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def from_registry(repo, *, by: str = "site", today: date | None = None) -> list[SurvivalCase]:
    """Survival cases from the registry's abstracts: site (3-character) or Summary Stage."""
    from chartkeeper.registry import followup

    if by not in ("site", "stage", "site-stage"):
        raise BadRequest("group by site, stage or site-stage")
    found = []
    for row in followup.status(repo, today=today):
        if not row.diagnosis_date or not row.last_contact:
            continue
        with repo.reading() as tx:
            from chartkeeper.store import registry as tables

            case = tables.get_case(tx, row.case_id)
        stage = STAGE_NAMES.get(case["items"].get("summaryStage2018", "9"), "unknown")
        site = (row.primary_site or "C80.9")[:3]
        group = {"site": site, "stage": stage, "site-stage": f"{site} {stage}"}[by]
        item = survival_time(row.diagnosis_date, row.last_contact, row.vital_status == "dead")
        item.group = group
        found.append(item)
    return found
