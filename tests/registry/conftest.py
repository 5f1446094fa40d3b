"""Registry tests read SEER's ICD-O-3 lists and the NAACCR dictionary from the reference
directory (`registry.reference`: CHARTKEEPER_REFERENCE_DIR, else ../shared/data/reference);
without them they skip cleanly (the files are not ours to ship)."""

from __future__ import annotations

import pytest

from chartkeeper.registry import reference


def _need(*parts: str) -> None:
    if not reference.available(*parts):
        pytest.skip(f"reference file not present: {'/'.join(parts)}")


@pytest.fixture(scope="session")
def icdo3_reference() -> None:
    _need("icdo3", "primarySite.csv")
    _need("icdo3", "histologicTypeIcdO3_allTerms.csv")


@pytest.fixture(scope="session")
def naaccr_reference() -> None:
    _need("naaccr", "naaccr-dictionary-260.xml")
    _need("naaccr", "naaccr_data_1.8.xsd")
