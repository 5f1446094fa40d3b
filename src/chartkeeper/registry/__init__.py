"""The cancer registry: what a cancer registrar does between the pathology report and the
central registry.

- `reference`: finds and reads the public code lists (SEER's ICD-O-3 lookups, the NAACCR v26
  base dictionary, the ICD-10-CM casefinding conversion) under the reference directory.
- `lexicon`, `classify`: from a pathology report's text, the primary site (ICD-O-3
  topography), histology/behaviour, laterality and grade, each with its evidence span.
- `casefinding`: screens diagnoses and pathology reports (negation, the registry's
  ambiguous-terminology rules) into a worklist of suspected cases: one tumour, one case.
- `abstract`: the CaseAbstract (NAACCR v26 items), prefilled from the record; statuses
  suspected -> abstracting -> complete; multiple-primary decisions.
- `edits`: edit checks with ids, messages and overrides.
- `followup`, `survival`: the annual follow-up due list, lost-to-follow-up rates against the
  Commission on Cancer standards, Kaplan-Meier observed survival (lifelines).

Its tables live in `store/registry.py`; NAACCR XML is written and read by
`interfaces/naaccr.py`.
"""
