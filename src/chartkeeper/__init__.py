"""chartkeeper: a health information management system over a FHIR R4 record store."""

__version__ = "0.1.0"
