"""Deficiency rules, kept as data: one TOML file per rule set, validated whole on load.

A rule file (`quality/rules/*.toml`, parsed with the standard library's tomllib)::

    [rule_set]
    name = "documentation"
    description = "..."

    [[rules]]
    id = "note-unsigned"
    description = "Note not authenticated within 24 hours"
    severity = "high"                    # low | medium | high | critical
    responsible = "author"               # attending | author | performer |
                                         # ordering-provider | him
    basis = "CMS CoP 42 CFR 482.24(c)(1)"  # optional: where the rule comes from
    detect = { detector = "note_unsigned_after", hours = 24 }

`detect` names a detector of the catalogue (`catalogue.DETECTORS`) and sets its parameters.
Every problem in every file (unreadable TOML, a missing field, an unknown detector,
severity or parameter, a parameter of the wrong kind, a rule id used twice) is collected
and raised together as one RuleFileError, each issue located by file and rule id.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from chartkeeper.errors import ChartkeeperError, Issue

from .catalogue import DETECTORS
from .chart import ROLES
from .checks import Param

SEVERITIES = ("low", "medium", "high", "critical")
REQUIRED = ("id", "description", "severity", "responsible", "detect")
OPTIONAL = ("basis", "enabled")


class RuleFileError(ChartkeeperError):
    """Rule files that cannot be used; `issues` locate every problem (file: rule id)."""

    code = "invalid"
    http_status = 400

    def __init__(self, issues: list[Issue]):
        listed = "\n".join(f"  {i}" for i in issues)
        super().__init__(f"{len(issues)} problem(s) in the deficiency rules:\n{listed}", issues)


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: str
    responsible: str
    detector: str
    params: dict[str, Any]
    rule_set: str
    source: str  # the file it came from
    basis: str = ""


@dataclass(frozen=True)
class RuleBook:
    """All rules in force, in file order."""

    rules: tuple[Rule, ...]
    files: tuple[str, ...] = field(default=())

    def __iter__(self):
        return iter(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def default_paths() -> list[Path]:
    """The rule sets shipped with chartkeeper (package data)."""
    folder = resources.files("chartkeeper.quality") / "rules"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml"))


_DEFAULT: RuleBook | None = None


def default_rules() -> RuleBook:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_rules()
    return _DEFAULT


def load_rules(paths: Iterable[Path | str] | None = None) -> RuleBook:
    """Load and validate rule files (default: the shipped ones); raise RuleFileError with
    every problem found, or return the RuleBook."""
    files = [Path(p) for p in (default_paths() if paths is None else paths)]
    issues: list[Issue] = []
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in files:
        for rule in _load_file(path, issues):
            if rule.id in seen:
                issues.append(
                    Issue(_where(path, rule.id), f"rule id already used in {seen[rule.id]}")
                )
                continue
            seen[rule.id] = path.name
            rules.append(rule)
    if issues:
        raise RuleFileError(issues)
    return RuleBook(tuple(rules), tuple(str(f) for f in files))


def _where(path: Path, rule_id: object = None) -> str:
    return f"{path.name}: rule {rule_id}" if rule_id is not None else path.name


def _load_file(path: Path, issues: list[Issue]) -> list[Rule]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        issues.append(Issue(_where(path), f"cannot read: {exc}"))
        return []
    header = doc.get("rule_set")
    name = header.get("name") if isinstance(header, dict) else None
    if not isinstance(name, str) or not name:
        issues.append(Issue(_where(path), "[rule_set] needs a name"))
        name = path.stem
    entries = doc.get("rules")
    if not isinstance(entries, list) or not entries:
        issues.append(Issue(_where(path), "no [[rules]] in the file"))
        return []
    rules = []
    for index, entry in enumerate(entries):
        rule = _rule(path, name, index, entry, issues)
        if rule is not None:
            rules.append(rule)
    return rules


def _rule(path: Path, rule_set: str, index: int, entry: object, issues: list[Issue]) -> Rule | None:
    if not isinstance(entry, dict):
        issues.append(Issue(_where(path, f"#{index + 1}"), "a rule must be a table"))
        return None
    rule_id = entry.get("id") if isinstance(entry.get("id"), str) else f"#{index + 1}"
    where = _where(path, rule_id)
    before = len(issues)
    for name in REQUIRED:
        if name not in entry:
            issues.append(Issue(where, f"missing field '{name}'"))
    for name in sorted(set(entry) - set(REQUIRED) - set(OPTIONAL)):
        issues.append(Issue(where, f"unknown field '{name}'"))
    for name in ("id", "description", "basis"):
        if name in entry and not isinstance(entry[name], str):
            issues.append(Issue(where, f"'{name}' must be text"))
    if "severity" in entry and entry["severity"] not in SEVERITIES:
        issues.append(Issue(where, f"severity {entry['severity']!r} is not one of {SEVERITIES}"))
    if "responsible" in entry and entry["responsible"] not in ROLES:
        issues.append(Issue(where, f"responsible {entry['responsible']!r} is not one of {ROLES}"))
    detector, params = _detect(entry.get("detect"), where, issues)
    if len(issues) > before or entry.get("enabled", True) is False:
        return None
    return Rule(
        rule_id,
        entry["description"],
        entry["severity"],
        entry["responsible"],
        detector,
        params,
        rule_set,
        path.name,
        entry.get("basis", ""),
    )


def _detect(spec: object, where: str, issues: list[Issue]) -> tuple[str, dict[str, Any]]:
    if spec is None:
        return "", {}
    if not isinstance(spec, dict) or not isinstance(spec.get("detector"), str):
        issues.append(Issue(where, "'detect' must be a table naming a detector"))
        return "", {}
    name = spec["detector"]
    found = DETECTORS.get(name)
    if found is None:
        known = ", ".join(sorted(DETECTORS))
        issues.append(Issue(where, f"unknown detector '{name}' (known: {known})"))
        return name, {}
    params = {k: v for k, v in spec.items() if k != "detector"}
    for key, value in params.items():
        declared = found.params.get(key)
        if declared is None:
            issues.append(Issue(where, f"detector '{name}' has no parameter '{key}'"))
        elif not _fits(declared, value):
            issues.append(Issue(where, f"parameter '{key}' must be {declared.kind}, not {value!r}"))
    return name, params


def _fits(param: Param, value: object) -> bool:
    if param.kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    if param.kind == "texts":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if param.kind == "flag":
        return isinstance(value, bool)
    return isinstance(value, str)
