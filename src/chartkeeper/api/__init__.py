"""The HTTP API: FHIR R4 REST under /fhir, sign-in under /auth, bulk export.

Routes are thin: they authenticate, check the role policy, call the store or a domain
function and shape the answer. Every error leaves as an OperationOutcome (outcomes.py).
"""
