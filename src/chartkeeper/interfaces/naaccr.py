"""NAACCR XML (specification 1.8, NAACCR v26 base dictionary): write and read registry data.

Every item comes from the base dictionary file (`naaccr-dictionary-260.xml`, read at run
time from the reference directory): its XML level (NaaccrData, Patient or Tumor), length,
data type, padding and the record types that carry it. Nothing about an item is typed here.
Before a file is written its content is checked against the dictionary (unknown item, item
at the wrong level, too long, wrong data type; all problems reported together) and the
document against the NAACCR data XSD (`naaccr_data_1.8.xsd`); a file that fails is not
written. Reading applies the same checks.

Output is deterministic (items in dictionary number order, fixed indentation, no
generation time unless asked for), so reading a file we wrote and writing it again gives
the same bytes.

Record types: "A" (full case abstract, confidential items included) and "I" (incidence:
items whose recordTypes include I only; names, street address, MRN and the like left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from lxml import etree

from chartkeeper.errors import BadRequest
from chartkeeper.registry.reference import ItemDef, naaccr_dictionary, reference_file

NS = "http://naaccr.org/naaccrxml"
BASE_DICTIONARY_URI = "http://naaccr.org/naaccrxml/naaccr-dictionary-260.xml"
SPECIFICATION_VERSION = "1.8"
LEVELS = ("NaaccrData", "Patient", "Tumor")
RECORD_TYPES = ("A", "M", "C", "I")

# NAACCR XML specification 1.8, section "data types".
_DATA_TYPES = {
    "digits": re.compile(r"\d+"),
    "alpha": re.compile(r"[A-Z]+"),
    "mixed": re.compile(r"[A-Z\d]+"),
    "numeric": re.compile(r"-?\d+(\.\d+)?"),
    "date": re.compile(r"\d{4}((0[1-9]|1[0-2])((0[1-9]|[12]\d|3[01]))?)?"),
    "dateTime": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?"),
}


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(reference_file("naaccr", "naaccr_data_1.8.xsd"))))


@dataclass
class NaaccrPatient:
    items: dict[str, str] = field(default_factory=dict)
    tumors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class NaaccrFile:
    record_type: str = "A"
    items: dict[str, str] = field(default_factory=dict)  # NaaccrData level
    patients: list[NaaccrPatient] = field(default_factory=list)
    time_generated: str | None = None


class NaaccrInvalid(BadRequest):
    """The data breaks the NAACCR dictionary or schema; `problems` lists every finding."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "; ".join(problems[:10]) + (
            f" (+{len(problems) - 10} more)" if len(problems) > 10 else ""
        )
        super().__init__(f"NAACCR XML invalid: {shown}")


def normalize(item: ItemDef, value: str) -> str:
    """The value as written: left-zero padding where the dictionary asks for it."""
    value = str(value).strip()
    if item.padding == "leftZero" and value and len(value) < item.length and value.isdigit():
        value = value.zfill(item.length)
    return value


def check_item(
    item: ItemDef | None, naaccr_id: str, value: str, level: str, record_type: str
) -> list[str]:
    where = f"{level}/{naaccr_id}"
    if item is None:
        return [f"{where}: not an item of the NAACCR v26 base dictionary"]
    problems = []
    if item.level != level:
        problems.append(f"{where}: belongs at the {item.level} level")
    if record_type not in item.record_types:
        problems.append(f"{where}: not carried by record type {record_type}")
    if len(value) > item.length:
        problems.append(f"{where}: '{value}' is longer than {item.length}")
    pattern = _DATA_TYPES.get(item.data_type)
    if pattern and value and not pattern.fullmatch(value):
        problems.append(f"{where}: '{value}' is not {item.data_type}")
    return problems


def validate(data: NaaccrFile) -> list[str]:
    """Every dictionary problem of the content, located (empty: valid)."""
    d = naaccr_dictionary()
    problems = []
    if data.record_type not in RECORD_TYPES:
        problems.append(f"record type '{data.record_type}' is not one of {RECORD_TYPES}")

    def level(items: dict[str, str], name: str, where: str) -> None:
        for key, value in items.items():
            item = d.items.get(key)
            found = check_item(
                item, key, normalize(item, value) if item else value, name, data.record_type
            )
            problems.extend(f"{where}{p}" for p in found)

    level(data.items, "NaaccrData", "")
    for p, patient in enumerate(data.patients, 1):
        level(patient.items, "Patient", f"patient {p}: ")
        for t, tumor in enumerate(patient.tumors, 1):
            level(tumor, "Tumor", f"patient {p} tumor {t}: ")
    return problems


def _add_items(parent: etree._Element, items: dict[str, str], level: str, depth: int) -> None:
    d = naaccr_dictionary()
    indent = "\n" + "  " * (depth + 1)
    for item in d.at(level):
        value = items.get(item.naaccr_id)
        if value is None or str(value).strip() == "":
            continue
        node = etree.SubElement(
            parent, f"{{{NS}}}Item", naaccrId=item.naaccr_id, naaccrNum=str(item.number)
        )
        node.text = normalize(item, value)
        node.tail = indent


def write(data: NaaccrFile) -> bytes:
    """The NAACCR XML document, checked against dictionary and schema; raises NaaccrInvalid."""
    problems = validate(data)
    if problems:
        raise NaaccrInvalid(problems)
    attrs = {
        "baseDictionaryUri": BASE_DICTIONARY_URI,
        "recordType": data.record_type,
        "specificationVersion": SPECIFICATION_VERSION,
    }
    if data.time_generated:
        attrs["timeGenerated"] = data.time_generated
    root = etree.Element(f"{{{NS}}}NaaccrData", attrs, nsmap={None: NS})
    root.text = "\n  "
    _add_items(root, data.items, "NaaccrData", 0)
    for patient in data.patients:
        node = etree.SubElement(root, f"{{{NS}}}Patient")
        node.text, node.tail = "\n    ", "\n  "
        _add_items(node, patient.items, "Patient", 1)
        for tumor in patient.tumors:
            tnode = etree.SubElement(node, f"{{{NS}}}Tumor")
            tnode.text, tnode.tail = "\n      ", "\n    "
            _add_items(tnode, tumor, "Tumor", 2)
            _close(tnode, 2)
        _close(node, 1)
    _close(root, 0)
    schema = _schema()
    if not schema.validate(root):
        raise NaaccrInvalid([f"XSD: {e.message} (line {e.line})" for e in schema.error_log])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def _close(node: etree._Element, depth: int) -> None:
    """The last child's tail closes the parent's indentation."""
    children = list(node)
    if children:
        children[-1].tail = "\n" + "  " * depth
    else:
        node.text = None


def read(content: bytes) -> NaaccrFile:
    """Parse and check a NAACCR XML document; raises NaaccrInvalid with every problem."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise NaaccrInvalid([f"not well-formed XML: {exc}"]) from None
    schema = _schema()
    if not schema.validate(root):
        raise NaaccrInvalid([f"XSD: {e.message} (line {e.line})" for e in schema.error_log])
    problems = []
    base = root.get("baseDictionaryUri")
    if base != BASE_DICTIONARY_URI:
        problems.append(f"baseDictionaryUri is {base}, this reader takes {BASE_DICTIONARY_URI}")

    def items(node: etree._Element) -> dict[str, str]:
        found = {}
        for item in node.findall(f"{{{NS}}}Item"):
            key = item.get("naaccrId")
            if key in found:
                problems.append(f"{key}: given twice at one level (line {item.sourceline})")
            found[key] = item.text or ""
            number = item.get("naaccrNum")
            known = naaccr_dictionary().items.get(key)
            if known and number and int(number) != known.number:
                problems.append(f"{key}: naaccrNum {number}, the dictionary says {known.number}")
        return found

    data = NaaccrFile(root.get("recordType"), items(root), [], root.get("timeGenerated"))
    for patient in root.findall(f"{{{NS}}}Patient"):
        data.patients.append(
            NaaccrPatient(items(patient), [items(t) for t in patient.findall(f"{{{NS}}}Tumor")])
        )
    problems += validate(data)
    if problems:
        raise NaaccrInvalid(problems)
    return data


def split_abstract(flat: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A case abstract's items into its Patient-level and Tumor-level items (by the
    dictionary's parentXmlElement); items the dictionary lacks stay with the tumour so
    validation names them."""
    d = naaccr_dictionary()
    patient, tumor = {}, {}
    for key, value in flat.items():
        item = d.items.get(key)
        (patient if item and item.level == "Patient" else tumor)[key] = value
    return patient, tumor


def for_record_type(items: dict[str, str], record_type: str) -> dict[str, str]:
    """Only the items a record type carries (an incidence file leaves out names, MRN...)."""
    d = naaccr_dictionary()
    return {
        k: v for k, v in items.items() if k in d.items and record_type in d.items[k].record_types
    }


# --- the registry's cases as NAACCR XML ---------------------------------------------------------


def build(
    cases: list[dict],
    *,
    record_type: str = "A",
    registry_id: str | None = None,
    time_generated: str | None = None,
) -> NaaccrFile:
    """Cases ({patient_id, items}) grouped into Patients by Patient ID Number."""
    if record_type not in ("A", "I"):
        raise BadRequest("record type must be A (full abstract) or I (incidence)")
    root = {"naaccrRecordVersion": "260"}
    if registry_id:
        root["registryId"] = registry_id
    data = NaaccrFile(record_type, root, [], time_generated)
    by_patient: dict[str, NaaccrPatient] = {}
    for case in cases:
        items = for_record_type(case["items"], record_type)
        patient_items, tumor_items = split_abstract(items)
        key = patient_items.get("patientIdNumber") or case["patient_id"]
        patient = by_patient.get(key)
        if patient is None:
            patient = by_patient[key] = NaaccrPatient(patient_items, [])
            data.patients.append(patient)
        patient.tumors.append(tumor_items)
    return data


def export_cases(
    repo,
    *,
    record_type: str = "A",
    registry_id: str | None = None,
    statuses: tuple[str, ...] = ("complete",),
) -> tuple[bytes, int]:
    """The registry's cases as one validated NAACCR XML document, and how many tumours."""
    from chartkeeper.registry import abstract

    cases = abstract.for_exchange(repo, statuses)
    return write(build(cases, record_type=record_type, registry_id=registry_id)), len(cases)


def import_cases(repo, content: bytes, *, by: str, source: str = "NAACCR XML") -> dict:
    """Read a NAACCR XML file (all checks first; nothing stored if any fails) into cases."""
    from chartkeeper.registry import abstract

    data = read(content)
    abstracts = [
        {**patient.items, **tumor} for patient in data.patients for tumor in patient.tumors
    ]
    result = abstract.receive(repo, abstracts, by=by, source=source)
    return {
        **result,
        "patients": len(data.patients),
        "tumors": len(abstracts),
        "record_type": data.record_type,
    }
