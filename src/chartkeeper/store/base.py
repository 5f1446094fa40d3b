"""What every store table module shares: the one MetaData and the column sizes.

Each domain's tables are declared in (and queried only from) its own module under
`chartkeeper.store`; `store.schema` gathers them for migrations and tests.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()

TYPE = 64  # longest R4 resource type name is 34; room for profiles of our own
ID = 64  # FHIR id: [A-Za-z0-9\-\.]{1,64}
STAMP = 32  # sortable UTC instants, see fhir.search_params.parse_date_range
