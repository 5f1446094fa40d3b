"""De-identifying one FHIR resource: the structured Safe Harbor rules, driven by the schema.

The walk follows the fhir.resources R4B models, so every element is handled by its FHIR
type, in every resource type, including ones nobody wrote a rule for: each string and
markdown goes through the free-text scrubber, each date through the date rule, each
Reference, Identifier, HumanName, ContactPoint, Address and Attachment through its own
rule. Resources fall into three roles:

- person (Patient, RelatedPerson, Person): names, telecom and photos removed, addresses cut
  to state and 3-digit ZIP, birth date to its year (or masked at 90 and over);
- provider (Practitioner, Organization, Location, ... and definitions): not about the
  individual, kept as they are (clinician names stay in their own structured resources);
- clinical (everything else): dates reduced or shifted, identifiers pseudonymised, free
  text scrubbed with the identity of the patient the resource points to.

Every resource id becomes a keyed pseudonym and every reference is rewritten to match, so
the export stays linked. What was done is labelled in meta.security (PSEUDED, REDACTED).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
from typing import Any

from chartkeeper.fhir.references import iter_references, parse_relative
from chartkeeper.fhir.resource_types import RESOURCE_TYPES

from .context import PSEUDONYM_SYSTEM, DeidContext, identifier_kind, zip3
from .dates import fhir_date
from .schema import Field, model_named, resource_model, schema
from .text import scrub_text

PERSON_TYPES = frozenset({"Patient", "RelatedPerson", "Person"})
PROVIDER_TYPES = frozenset(
    [
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "OrganizationAffiliation",
        "Location",
        "HealthcareService",
        "Endpoint",
        "Medication",
        "MedicationKnowledge",
        "Substance",
        "ActivityDefinition",
        "PlanDefinition",
        "Questionnaire",
        "ValueSet",
        "CodeSystem",
        "ConceptMap",
        "StructureDefinition",
        "CapabilityStatement",
        "SearchParameter",
        "OperationDefinition",
        "NamingSystem",
        "Library",
        "Measure",
        "ObservationDefinition",
        "SpecimenDefinition",
        "ChargeItemDefinition",
        "ImplementationGuide",
        "StructureMap",
        "GraphDefinition",
        "MessageDefinition",
        "CompartmentDefinition",
        "TerminologyCapabilities",
        "EventDefinition",
        "ResearchDefinition",
        "ResearchElementDefinition",
    ]
)
# Security logs hold user names, IP addresses and access times and no clinical content.
DROPPED_TYPES = frozenset({"AuditEvent"})

SECURITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
PSEUDED = {"system": SECURITY_SYSTEM, "code": "PSEUDED", "display": "pseudonymized"}
REDACTED = {"system": SECURITY_SYSTEM, "code": "REDACTED", "display": "redacted"}
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
AGE_CATEGORY_URL = "urn:chartkeeper:deid:age-category"
UCUM = "http://unitsofmeasure.org"

# Strings that are identifiers by what they hold, wherever they appear (164.514(b)(2)(i)(I)
# plan numbers, (J) account numbers, (M) device identifiers and serial numbers).
_STRING_KINDS = {
    "serialNumber": "device",
    "distinctIdentifier": "device",
    "deviceIdentifier": "device",
    "carrierHRF": "device",
    "subscriberId": "plan",
    "dependent": "plan",
    "preAuthRef": "account",
    ("CoverageClass", "value"): "plan",
}
# LOINC codes whose value is the patient's age.
_AGE_CODES = frozenset({"30525-0", "21612-7", "29553-5", "39016-1"})
_YEARS_PER_UNIT = {"a": 1, "yr": 1, "year": 1, "years": 1, "mo": 1 / 12, "wk": 1 / 52.18}
_TEXTUAL = ("text/", "application/json", "application/xml", "application/fhir+json")
_DROPPED_EXTENSIONS = ("patient-mothersMaidenName",)
_TELECOM_KINDS = {"phone": "phone", "sms": "phone", "fax": "fax", "email": "email", "url": "url"}
_REMOVE = object()


# --- the walk ---------------------------------------------------------------------------------


_TAG = re.compile(r"(<[^>]*>)")
_ATTRIBUTE = re.compile(r"""\s([\w:\-]+)\s*=\s*(?:"[^"]*"|'[^']*')""")
_KEPT_ATTRIBUTES = frozenset(("xmlns", "class", "style", "colspan", "rowspan", "id"))


def _strip_attributes(tag: str) -> str:
    """A narrative tag without attributes that may carry text (title, alt, href, src)."""
    return _ATTRIBUTE.sub(lambda m: m.group() if m.group(1) in _KEPT_ATTRIBUTES else "", tag)


def patient_of(resource: dict, context: DeidContext) -> str | None:
    """The real id of the Patient a resource is about: itself, or the first it refers to."""
    if resource.get("resourceType") == "Patient":
        return resource.get("id") if isinstance(resource.get("id"), str) else None
    for _, ref in iter_references(resource):
        if ref.startswith("urn:uuid:"):
            if ref[9:] in context.patients:
                return ref[9:]
            continue
        target = parse_relative(ref)
        if target and target[0] == "Patient":
            return target[1]
    return None


def deidentify_resource(resource: dict, context: DeidContext) -> dict | None:
    """A de-identified copy of `resource` (the input is not changed), or None when the
    resource type is not exported at all (AuditEvent).

    Patients should be `context.learn`ed before the resources that point to them, so their
    identifiers are known when free text is scrubbed; a Patient passed here is learned on
    the way if it was not."""
    rtype = resource.get("resourceType")
    if rtype in DROPPED_TYPES:
        context.structured["dropped_resource"] += 1
        return None
    if rtype == "Patient" and resource.get("id") not in context.patients:
        context.learn(resource)
    walker = _Walker(context, patient_of(resource, context))
    return walker.resource(resource, top=True)


class _Walker:
    def __init__(self, ctx: DeidContext, patient: str | None):
        self.ctx = ctx
        self.patient = patient
        self.identity = ctx.patients.get(patient) if patient else None
        self.shift = ctx.shift_days(patient) if ctx.date_shift and patient else None
        self.role = "clinical"
        self.redacted = False

    def count(self, kind: str) -> None:
        self.ctx.structured[kind] += 1
        self.redacted = True

    # resources

    def resource(self, res: dict, *, top: bool) -> dict:
        rtype = res.get("resourceType")
        model = resource_model(rtype)
        saved, saved_redacted = self.role, self.redacted
        self.role = (
            "person"
            if rtype in PERSON_TYPES
            else "provider"
            if rtype in PROVIDER_TYPES
            else "clinical"
        )
        self.redacted = False
        if rtype == "Binary":
            res = self._binary(res)
        out: dict = {}
        for key, value in res.items():
            if key == "resourceType":
                out[key] = value
            elif key == "id" and isinstance(value, str):
                out[key] = self.ctx.pseudonym_id(value) if top else value
            elif key == "text" and isinstance(value, dict):
                narrative = self.narrative(value)  # scrubbed like any free text, not dropped
                if narrative is not _REMOVE:
                    out[key] = narrative
            elif key == "photo" and self.role == "person":
                self.count("photo")  # (Q) full-face photographs
            elif key == "extension" and self.role == "person" and isinstance(value, list):
                kept = [e for e in value if not str(e.get("url", "")).endswith(_DROPPED_EXTENSIONS)]
                if len(kept) < len(value):
                    self.count("name")
                new = self.element(key, kept, model) if kept else _REMOVE
                if new is not _REMOVE:
                    out[key] = new
            else:
                new = self.element(key, value, model)
                if new is not _REMOVE:
                    out[key] = new
        if rtype == "Patient":
            self._patient_after(out)
        elif rtype == "Observation":
            self._observation_age(out)
        if top:
            self._label(out)
        self.role = saved
        self.redacted = saved_redacted or self.redacted
        return out

    def _label(self, out: dict) -> None:
        meta = out.setdefault("meta", {})
        security = [
            s
            for s in meta.get("security", [])
            if not (s.get("system") == SECURITY_SYSTEM and s.get("code") in ("PSEUDED", "REDACTED"))
        ]
        security.append(dict(PSEUDED))
        if self.redacted:
            security.append(dict(REDACTED))
        meta["security"] = security

    def _binary(self, res: dict) -> dict:
        res = dict(res)
        if "data" in res:
            att = self.attachment({"contentType": res.get("contentType", ""), "data": res["data"]})
            if att is _REMOVE or "data" not in att:
                res.pop("data")
            else:
                res["data"] = att["data"]
        return res

    def _patient_after(self, out: dict) -> None:
        if self.identity is not None and self.identity.age90:
            # (C): ages over 89 and the birth year that reveals them become "90 or older".
            if out.pop("birthDate", None) is not None:
                self.count("age")
            masked = {"url": DATA_ABSENT_REASON, "valueCode": "masked"}
            out["_birthDate"] = {"extension": [masked]}
            out.setdefault("extension", []).append(
                {"url": AGE_CATEGORY_URL, "valueString": "90 or older"}
            )
        contacts = [
            c
            for c in out.get("contact", [])
            if any(k in c for k in ("name", "telecom", "address", "organization"))
        ]  # pat-1: a contact needs one of these; one with none left says nothing
        if contacts:
            out["contact"] = contacts
        else:
            out.pop("contact", None)

    def _observation_age(self, out: dict) -> None:
        codes = {c.get("code") for c in (out.get("code") or {}).get("coding", [])}
        if not codes & _AGE_CODES:
            return
        value = out.get("valueQuantity")
        if isinstance(value, dict):
            out["valueQuantity"] = self.age(value)
        elif isinstance(out.get("valueInteger"), int) and out["valueInteger"] >= 90:
            out["valueInteger"] = 90
            self.count("age")

    # elements

    def element(self, key: str, value: Any, model: type | None) -> Any:
        field = schema(model).get(key) if model is not None else None
        if field is None:
            return self.generic(key, value)
        if isinstance(value, list):
            items = [self.single(key, v, field, model) for v in value]
            items = [v for v in items if v is not _REMOVE]
            return items or _REMOVE
        return self.single(key, value, field, model)

    def single(self, key: str, value: Any, field: Field, parent: type) -> Any:
        if field.resource:
            if not isinstance(value, dict):
                return value
            return self.resource(value, top=key != "contained")
        if field.model is not None:
            return self.complex(value, field.model) if isinstance(value, dict) else value
        return self.primitive(key, value, field, parent)

    def obj(self, value: dict, model: type) -> Any:
        out = {}
        for key, item in value.items():
            new = self.element(key, item, model)
            if new is not _REMOVE:
                out[key] = new
        return out or _REMOVE

    def complex(self, value: dict, model: type) -> Any:
        name = model.__name__
        if name == "Reference":
            return self.reference(value)
        if name == "Identifier":
            return self.identifier(value)
        if name == "Coding":
            return value  # terminology, not patient text
        if name == "Narrative":
            return self.narrative(value)
        if name == "Meta":
            return self.meta(value)
        if name == "Attachment":
            return self.attachment(value)
        if self.role != "provider":
            if name == "HumanName":
                self.count("name")  # (A) names of the individual and relatives
                return _REMOVE
            if name == "ContactPoint":
                self.count(_TELECOM_KINDS.get(value.get("system"), "id"))  # (D) (E) (F) (N)
                return _REMOVE
            if name == "Address":
                return self.address(value)
            if name == "Signature":
                self.count("signature")
                return _REMOVE
            if name == "Age":
                new = self.obj(value, model)
                return self.age(new) if new is not _REMOVE else new
            if name == "Annotation" and "authorString" in value:
                self.count("name")
                rest = self.obj({k: v for k, v in value.items() if k != "authorString"}, model)
                return {"authorString": "[NAME]", **(rest if rest is not _REMOVE else {})}
        return self.obj(value, model)

    def primitive(self, key: str, value: Any, field: Field, parent: type) -> Any:
        kind = field.primitive
        if self.role == "provider" or not isinstance(value, str):
            if key == "fullUrl" and isinstance(value, str):
                return self.rewrite(value) or value
            return value
        if kind in ("date", "dateTime", "instant"):
            new = fhir_date(value, kind, self.shift, field.required)
            if new != value:
                self.count("date")  # (C) all elements of dates except the year
            return _REMOVE if new is None else new
        if kind in ("string", "markdown"):
            if key == "unit":
                return value  # Quantity.unit: UCUM text, never about a person
            id_kind = _STRING_KINDS.get((parent.__name__, key)) or _STRING_KINDS.get(key)
            if id_kind:
                self.count(id_kind)
                return self.ctx.pseudonym_value(key, value)
            return self.text(value)
        if kind == "xhtml":
            return self.xhtml(value)
        if kind == "base64Binary":
            self.count("binary")  # opaque content cannot be checked, so it goes
            return _REMOVE
        if key == "fullUrl" or (key == "url" and parent.__name__ == "BundleEntryRequest"):
            return self.rewrite(value) or value
        return value

    def generic(self, key: str, value: Any) -> Any:
        """Elements the schema does not know (an unknown resource type): strings that look
        like dates get the date rule, other strings the scrubber."""
        if isinstance(value, list):
            items = [v for v in (self.generic(key, v) for v in value) if v is not _REMOVE]
            return items or _REMOVE
        if isinstance(value, dict):
            if isinstance(value.get("reference"), str):
                return self.reference(value)
            out = {k: v for k, v in ((k, self.generic(k, v)) for k, v in value.items())}
            return {k: v for k, v in out.items() if v is not _REMOVE} or _REMOVE
        if not isinstance(value, str) or key in ("system", "code", "url", "version", "unit"):
            return value
        if key in ("contentType", "language", "status", "resourceType", "id"):
            return value
        if re.fullmatch(r"\d{4}-\d{2}(-\d{2}(T\S+)?)?", value):
            new = fhir_date(value, "dateTime", self.shift, False)
            self.count("date")
            return _REMOVE if new is None else new
        return self.text(value)

    def narrative(self, value: dict) -> Any:
        """Narrative.div scrubbed in place: the tags stay, the words between them go through
        the free-text scrubber as one text (so "<b>Ana</b> Ruiz" is one name)."""
        div = value.get("div")
        if not isinstance(div, str):
            return _REMOVE
        out = {k: v for k, v in value.items() if k != "div"}
        out["div"] = self.xhtml(div)
        return out

    def xhtml(self, div: str) -> str:
        parts = _TAG.split(div)
        # Text runs (even indexes) joined by a newline where a tag stood between them.
        offsets, pieces, pos = [], [], 0
        for i in range(0, len(parts), 2):
            text = html.unescape(parts[i])
            offsets.append(pos)
            pieces.append(text)
            pos += len(text) + 1
        joined = "\n".join(pieces)
        _, findings = scrub_text(joined, self.ctx, patient=self.patient)
        if findings:
            self.count("narrative")
        new_pieces = list(pieces)
        for f in sorted(findings, key=lambda f: f.start, reverse=True):
            for k in range(len(pieces) - 1, -1, -1):
                lo, hi = offsets[k], offsets[k] + len(pieces[k])
                s, e = max(f.start, lo), min(f.end, hi)
                if s >= e:
                    continue
                head = f.start >= lo  # the piece where the identifier starts gets the tag
                piece = new_pieces[k]
                new_pieces[k] = piece[: s - lo] + (f.replacement if head else "") + piece[e - lo :]
        out = []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                out.append(html.escape(new_pieces[i // 2], quote=False))
            else:
                out.append(_strip_attributes(part))
        return "".join(out)

    def text(self, value: str) -> str:
        new, findings = scrub_text(value, self.ctx, patient=self.patient)
        if findings:
            self.redacted = True
        return new

    # datatypes

    def rewrite(self, ref: str) -> str | None:
        """The reference (or fullUrl) with the target id replaced by its pseudonym; None for
        a conditional reference, whose search parameters may carry identifiers."""
        if ref.startswith("#"):
            return ref
        if ref.startswith("urn:uuid:"):
            return "urn:uuid:" + self.ctx.pseudonym_id(ref[9:])
        if ref.startswith("urn:"):
            return ref
        if "?" in ref:
            return None
        parts = ref.rstrip("/").split("/")
        if "_history" in parts:
            parts = parts[: parts.index("_history")]
        if len(parts) >= 2 and parts[-2] in RESOURCE_TYPES:
            parts[-1] = self.ctx.pseudonym_id(parts[-1])
            return "/".join(parts)
        return ref

    def _target(self, ref: str) -> str | None:
        if ref.startswith("urn:uuid:"):
            return "Patient" if ref[9:] in self.ctx.patients else None
        target = parse_relative(ref) if not ref.startswith("#") else None
        return target[0] if target else None

    def reference(self, value: dict) -> dict:
        out: dict = {}
        target = None
        ref = value.get("reference")
        if isinstance(ref, str):
            target = self._target(ref)
            new = self.rewrite(ref)
            if new is None:
                self.count("id")
            else:
                out["reference"] = new
        target = target or value.get("type")
        reference_model = model_named("Reference")
        for key, item in value.items():
            if key == "reference":
                continue
            if key == "display" and isinstance(item, str):
                if target in PROVIDER_TYPES or self.role == "provider":
                    out[key] = item
                elif target in PERSON_TYPES:
                    self.count("name")
                else:
                    out[key] = self.text(item)
            elif key == "identifier" and isinstance(item, dict):
                new = self.identifier(item)
                if new is not _REMOVE:
                    out[key] = new
            else:
                new = self.element(key, item, reference_model)
                if new is not _REMOVE:
                    out[key] = new
        return out or {"display": "[REDACTED]"}

    def identifier(self, value: dict) -> Any:
        model = model_named("Identifier")
        if self.role == "provider":
            return self.obj(value, model)
        out: dict = {}
        for key in ("use", "type", "assigner", "extension"):
            if key in value:
                new = self.element(key, value[key], model)
                if new is not _REMOVE:
                    out[key] = new
        if "period" in value:
            self.count("date")
        if isinstance(value.get("value"), str):
            # (R) and friends: a keyed pseudonym keeps records linkable within the export.
            self.count(identifier_kind(value))
            out["system"] = PSEUDONYM_SYSTEM
            out["value"] = self.ctx.pseudonym_value(value.get("system"), value["value"])
        return out or _REMOVE

    def address(self, value: dict) -> Any:
        """(B): state and country stay; street, city, county go; ZIP keeps 3 digits."""
        out = {k: value[k] for k in ("use", "type", "state", "country") if k in value}
        if any(k in value for k in ("line", "city", "district", "text", "period", "extension")):
            self.count("address")
        postal = value.get("postalCode")
        if isinstance(postal, str):
            self.count("zip")
            short = zip3(postal)
            if short:
                out["postalCode"] = short
        return out or _REMOVE

    def age(self, value: dict) -> dict:
        unit = str(value.get("code") or value.get("unit") or "a").lower()
        per = _YEARS_PER_UNIT.get(unit, _YEARS_PER_UNIT.get(unit.rstrip("s"), 1))
        number = value.get("value")
        if isinstance(number, int | float) and number * per >= 90:
            self.count("age")
            return {"value": 90, "comparator": ">=", "unit": "years", "system": UCUM, "code": "a"}
        return value

    def meta(self, value: dict) -> Any:
        # versionId, lastUpdated and source say when and where the record was written.
        out = {k: value[k] for k in ("profile", "tag", "security") if k in value}
        return out or _REMOVE

    def attachment(self, value: dict) -> Any:
        content_type = str(value.get("contentType", ""))
        base = content_type.split(";")[0].strip().lower()
        out = {k: value[k] for k in ("contentType", "language") if k in value}
        if base.startswith(("image/", "video/", "audio/")):
            # (Q) photographs and (P) voiceprints: the content goes, the slot stays.
            self.count("photo" if not base.startswith("audio/") else "biometric")
            return out or {"title": "[REMOVED]"}
        if "url" in value:
            self.count("url")
        data = value.get("data")
        if isinstance(data, str):
            text = _decode(data, content_type) if base.startswith(_TEXTUAL) else None
            if text is None:
                self.count("binary")
            else:
                scrubbed = self.text(text).encode("utf-8")
                out["data"] = base64.b64encode(scrubbed).decode("ascii")
                out["size"] = len(scrubbed)
                out["hash"] = base64.b64encode(hashlib.sha1(scrubbed).digest()).decode("ascii")
                if "charset=" in content_type.lower():
                    out["contentType"] = f"{base}; charset=utf-8"
        if isinstance(value.get("title"), str):
            out["title"] = self.text(value["title"])
        if isinstance(value.get("creation"), str):
            new = fhir_date(value["creation"], "dateTime", self.shift, False)
            self.count("date")
            if new:
                out["creation"] = new
        return out or {"title": "[REMOVED]"}


def _decode(data: str, content_type: str) -> str | None:
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    charset = re.search(r"charset=([\w\-]+)", content_type, re.IGNORECASE)
    try:
        return raw.decode(charset.group(1) if charset else "utf-8")
    except (LookupError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")


__all__ = ["DROPPED_TYPES", "PERSON_TYPES", "PROVIDER_TYPES", "deidentify_resource", "patient_of"]
