"""The error family every layer raises.

Domain code raises these; the edges translate them (HTTP status and OperationOutcome in
the API, an exit code and a message in the CLI, an AE/AR acknowledgement for HL7 v2).
Each error carries the FHIR OperationOutcome issue code that describes it, so the
translation is a lookup, not a guess.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One located problem: where (a FHIRPath-like element path) and what."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else self.problem


class ChartkeeperError(Exception):
    """Base of every expected failure. `code` is an OperationOutcome issue type."""

    code = "exception"
    http_status = 500

    def __init__(self, message: str, issues: list[Issue] | None = None):
        super().__init__(message)
        self.message = message
        self.issues = issues or []

    def __str__(self) -> str:
        return self.message


class StoreUnavailable(ChartkeeperError):
    """The database could not be opened (unreachable, refused the sign-in, not a database)."""

    code = "transient"
    http_status = 503


class BadRequest(ChartkeeperError):
    """Input that cannot be acted on as given: malformed JSON, a wrong header, a bad value."""

    code = "invalid"
    http_status = 400


class InvalidResource(ChartkeeperError):
    """A resource that does not conform to the FHIR R4 structure: 400, which R4's http.html
    gives to a resource that "could not be parsed or failed basic FHIR validation rules"
    (422 is for profile and business rules: RuleViolation)."""

    code = "structure"
    http_status = 400

    def __init__(self, resource_type: str, resource_id: str | None, issues: list[Issue]):
        self.resource_type = resource_type
        self.resource_id = resource_id
        name = f"{resource_type}/{resource_id}" if resource_id else resource_type
        detail = "; ".join(str(i) for i in issues[:5])
        more = f" (and {len(issues) - 5} more)" if len(issues) > 5 else ""
        super().__init__(f"invalid {name}: {detail}{more}", issues)


class RuleViolation(InvalidResource):
    """A structurally valid resource that breaks an R4 rule: a required value-set binding
    (code-invalid) or an invariant (invariant). 422, as http.html gives to resources that
    violate "applicable FHIR profiles or server business rules"."""

    code = "invariant"
    http_status = 422


class NotFound(ChartkeeperError):
    code = "not-found"
    http_status = 404


def not_in_store(resource_type: str, resource_id: str) -> str:
    """What a read or write of a missing record says; a hidden record says exactly this too."""
    return f"{resource_type}/{resource_id} is not in the store"


class Hidden(NotFound):
    """A record the caller may not see (a sensitivity label their role lacks). The caller
    gets exactly the answer a missing record gets, so neither its existence nor its
    version leaks; `reason` is for the audit trail only."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class Gone(ChartkeeperError):
    """The resource existed and was deleted; its history is still kept."""

    code = "deleted"
    http_status = 410


class Conflict(ChartkeeperError):
    """The write contradicts what is stored (a create of an id that exists)."""

    code = "conflict"
    http_status = 409


class VersionConflict(Conflict):
    """An update named a version that is no longer current (optimistic concurrency)."""

    http_status = 412


class AmbiguousMatch(ChartkeeperError):
    """A conditional operation whose criteria match more than one resource (FHIR: 412)."""

    code = "multiple-matches"
    http_status = 412


class AuthenticationFailed(ChartkeeperError):
    """No valid credentials: unknown user, wrong password, expired or revoked token."""

    code = "login"
    http_status = 401


class Forbidden(ChartkeeperError):
    """Signed in, but the role does not allow this action on this kind of record."""

    code = "forbidden"
    http_status = 403


class InvalidSearch(ChartkeeperError):
    """A search parameter the store does not know, or a value it cannot parse."""

    code = "invalid"
    http_status = 400


class BundleError(ChartkeeperError):
    """A bundle or file that could not be imported; says which file and which entry."""

    code = "invalid"
    http_status = 400

    def __init__(self, source: str, entry: int | None, reason: str, path: str = ""):
        self.source = source
        self.entry = entry
        self.path = path
        self.reason = reason
        self.cause: ChartkeeperError | None = None  # the store's own error, when there is one
        where = source if entry is None else f"{source} entry[{entry}]"
        where = f"{where} {path}" if path else where
        super().__init__(f"{where}: {reason}", [Issue(path, reason)])

    def __reduce__(self):  # import workers send these back across a process boundary
        return (type(self), (self.source, self.entry, self.reason, self.path))


class DanglingReference(BundleError):
    """A reference to a resource that is neither in the bundle nor stored (yet): the
    importer retries such a unit once the other files are in."""
