"""GET /fhir/metadata: the CapabilityStatement, built from what the code supports.

Built from the same tables the store searches with, so it cannot claim a parameter the
server does not answer, nor hide one it does.
"""

from __future__ import annotations

from functools import lru_cache

import orjson
from fastapi import APIRouter, Depends, Request, Response

from chartkeeper import __version__
from chartkeeper.fhir import search_params as sp
from chartkeeper.fhir.resource_types import RESOURCE_TYPES
from chartkeeper.fhir.search_params import utc_now

from .http_rules import negotiate
from .outcomes import FHIR_JSON

router = APIRouter(
    prefix="/fhir", tags=["FHIR"], include_in_schema=False, dependencies=[Depends(negotiate)]
)

INTERACTIONS = [
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
]
RESULT_PARAMETERS = [
    "_count",
    "_offset",
    "_sort",
    "_include",
    "_revinclude",
    "_summary",
    "_elements",
    "_total",
    "_has",
]


def _search_param(param: sp.SearchParam) -> dict:
    entry = {"name": param.name, "type": param.type}
    modifiers = sorted(sp.MODIFIERS.get(param.type, ())) if param.name not in sp.COMMON else []
    if modifiers:
        entry["documentation"] = "modifiers: " + ", ".join(f":{m}" for m in modifiers)
    return entry


def _resource(rtype: str) -> dict:
    params = {**sp.COMMON_PARAMS, **sp.params_for(rtype)}
    references = sorted(p.name for p in params.values() if p.type == sp.REFERENCE)
    entry = {
        "type": rtype,
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalUpdate": True,
        "conditionalDelete": "multiple",
        "conditionalRead": "modified-since",
        "interaction": [{"code": code} for code in INTERACTIONS],
        "searchInclude": ["*", *(f"{rtype}:{name}" for name in references)],
        "searchParam": [_search_param(p) for p in params.values()],
    }
    entry["operation"] = [
        {
            "name": "validate",
            "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
        }
    ]
    if rtype == "Patient":
        entry["operation"] += [
            {
                "name": "everything",
                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
            },
            {
                "name": "export",
                "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
            },
        ]
    return entry


def capability_statement(base_url: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": utc_now(),
        "kind": "instance",
        "software": {"name": "chartkeeper", "version": __version__},
        "implementation": {"description": "chartkeeper FHIR R4 server", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "Bearer tokens from POST /auth/token (OAuth2 password flow).",
                },
                "resource": [_resource(t) for t in sorted(RESOURCE_TYPES)],
                "interaction": [
                    {"code": "transaction"},
                    {"code": "batch"},
                    {"code": "history-system"},
                ],
                "searchParam": [{"name": n, "type": "special"} for n in RESULT_PARAMETERS],
                "operation": [
                    {
                        "name": "export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                    }
                ],
            }
        ],
    }


@lru_cache(maxsize=16)
def _statement_bytes(base_url: str) -> bytes:
    # Built and serialised once per base URL (~25 ms: 2,490 type/parameter pairs), not per
    # request; its date is when this server built it (R4: the date it last changed).
    return orjson.dumps(capability_statement(base_url))


@router.get("/metadata")
def metadata(request: Request):
    """Public, as FHIR requires: it describes the server and holds no patient data."""
    body = _statement_bytes(str(request.base_url).rstrip("/") + "/fhir")
    return Response(body, media_type=FHIR_JSON)
