"""FHIR R4 knowledge with no I/O: validation, references, search-parameter extraction.

Everything here works on resources as plain JSON dicts, the form the store keeps, so the
bulk paths never pay for building model objects.
"""
