"""De-identification: HIPAA Safe Harbor (45 CFR 164.514(b)(2)) for FHIR R4 exports.

The 18 identifiers of 164.514(b)(2)(i) are removed or generalised in structured elements
and in free text (note attachments are decoded, scrubbed and re-encoded; narrative XHTML
keeps its tags and has its text scrubbed). Free text outside the store goes through the
same engine (`batch.scrub_one`, `chartkeeper deid text`); `gazetteer` holds the Census name,
place and hospital lists that make the scrubber work on terse, upper-case nursing notes. Resource ids and identifier values become keyed pseudonyms, so records of one
patient still link within an export and nobody without the key can link them back.

    from chartkeeper.privacy.deid import export_deidentified, parse_key
    report = export_deidentified(repo, Path("out"), key=parse_key(os.environ["KEY"]))

    ctx = DeidContext(key, date_shift=True)      # or one resource at a time:
    ctx.learn(patient)                           # the patient's own identifiers first
    clean = deidentify_resource(note, ctx)       # dict, or None for a dropped type
    text, findings = scrub_text("Seen 03/14/2024 by Dr. Ruiz", ctx, patient=patient["id"])

Modules: `context` (key, pseudonyms, date shift, patient identities), `dates`, `text` (the
free-text scrubber), `namefind`, `names` (built-in word lists), `gazetteer` (imported
lists), `resource` (structured rules), `export`, `batch` (notes as files).
"""

from .context import (
    METHODS,
    MIN_KEY_BYTES,
    PSEUDONYM_SYSTEM,
    RESTRICTED_ZIP3,
    DeidContext,
    PatientIdentity,
    check_key,
    key_fingerprint,
    new_key,
    parse_key,
    zip3,
)
from .export import REPORT_NAME, DeidReport, export_deidentified
from .resource import deidentify_resource, patient_of
from .text import TAGS, Finding, scrub_text

__all__ = [
    "METHODS",
    "MIN_KEY_BYTES",
    "PSEUDONYM_SYSTEM",
    "REPORT_NAME",
    "RESTRICTED_ZIP3",
    "TAGS",
    "DeidContext",
    "DeidReport",
    "Finding",
    "PatientIdentity",
    "check_key",
    "deidentify_resource",
    "export_deidentified",
    "key_fingerprint",
    "new_key",
    "parse_key",
    "patient_of",
    "scrub_text",
    "zip3",
]
