"""Wire formats in and out of the store: FHIR bundles and NDJSON (more to come: HL7 v2,
MLLP, X12, NAACCR). Each turns bytes into store writes, one transaction per unit."""
