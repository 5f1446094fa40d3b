"""OperationOutcome: the FHIR shape of an error, with each located issue as an expression."""

from __future__ import annotations

from collections.abc import Iterable

from chartkeeper.errors import Issue


def operation_outcome(
    code: str, diagnostics: str, issues: Iterable[Issue] = (), severity: str = "error"
) -> dict:
    located = [
        {"severity": severity, "code": code, "diagnostics": i.problem, "expression": [i.path]}
        for i in issues
        if i.path
    ]
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}, *located],
    }
