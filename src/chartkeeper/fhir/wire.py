"""Reading values off the wire strictly: JSON documents, whole numbers, version ETags, ids.

Python's own parsers are lenient in ways a server must not be: `"²".isdigit()` is true and
`int("²")` then fails, `int("1_000")` and `int(" 7 ")` succeed, and a 20-digit number
overflows a database integer. Every number a client sends (`_count`, `_offset`, a version
in a path or an ETag, a CLI option) goes through `whole_number`, which takes ASCII digits
only and a stated bound, and says which value was wrong. `parse_json` bounds the nesting
depth before any recursive code (validation, search indexing) walks the document, so a
600-deep extension is a clear 400 instead of a RecursionError.
"""

from __future__ import annotations

import re

import orjson

from chartkeeper.errors import BadRequest, ChartkeeperError

# FHIR `unsignedInt`/`positiveInt` are 32-bit; a database INTEGER column is too.
MAX_INT32 = 2**31 - 1
# Real resources nest about 12 levels (Bundle > entry > resource > contained > extension
# > extension > value...). 64 leaves room for deep but honest extension trees.
MAX_JSON_DEPTH = 64

_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: no superscripts, no other scripts' digits
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # R4 `id`


def whole_number(
    text: object,
    name: str,
    *,
    minimum: int = 0,
    maximum: int = MAX_INT32,
    error: type[ChartkeeperError] = BadRequest,
) -> int:
    """`text` as an int in [minimum, maximum], or `error` naming `name` and the value."""
    raw = text if isinstance(text, str) else None
    if raw is None or _DIGITS.fullmatch(raw) is None:
        shown = repr(text) if not isinstance(text, str) else f"'{text[:40]}'"
        raise error(f"{name} must be a whole number, not {shown}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise error(f"{name} must be between {minimum} and {maximum}, not {text}")
    return value


def version_from_etag(etag: object, name: str = "If-Match") -> int:
    """`W/"3"`, `"3"` or `3` -> 3; anything else is a 400 naming the header."""
    if not isinstance(etag, str):
        raise BadRequest(f'{name} must be a version ETag such as W/"3", not {etag!r}')
    text = etag.strip().removeprefix("W/").strip('"')
    return whole_number(text, f'{name} (an ETag such as W/"3")', minimum=1)


def is_id(text: object) -> bool:
    """True for a well-formed R4 resource id (1-64 of A-Z a-z 0-9 - .)."""
    return isinstance(text, str) and _ID.fullmatch(text) is not None


def depth_of(doc: object, limit: int = MAX_JSON_DEPTH) -> int:
    """The nesting depth of a parsed JSON value, counted without recursion; stops counting
    once past `limit` (the caller only needs to know it is too deep)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


# Structure only: what is left of a valid document once escapes are dropped, then all but
# brackets and quotes, then the (now bracket-only) strings; brackets there nest exactly as
# the document's containers do.
_KEEP = bytes(b for b in range(256) if b not in b'{}[]"')
_QUOTED = re.compile(rb'"[^"]*"')
_INNERMOST = re.compile(rb"\{\}|\[\]")


def raw_depth_within(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a valid JSON document nests no deeper than `limit`, judged from its bytes:
    escapes and strings cut out, then innermost bracket pairs removed one level per pass.
    Every step runs in C, where walking the parsed document (depth_of) costs a Python step
    per node, a large share of a bulk import's parsing. (`\\\\` pairs go first, so the
    backslash of `\\\\"` is not taken for an escaped quote.)"""
    shape = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _KEEP)
    brackets = _QUOTED.sub(b"", shape)
    for _level in range(limit):
        if not brackets:
            return True
        brackets = _INNERMOST.sub(b"", brackets)
    return not brackets


def check_depth(doc: object, what: str = "the request body", limit: int = MAX_JSON_DEPTH) -> None:
    if depth_of(doc, limit) > limit:
        raise BadRequest(_too_deep(what, limit))


def _too_deep(what: str, limit: int) -> str:
    return f"{what} nests deeper than {limit} levels; no FHIR resource needs that"


def parse_json(raw: bytes | str, what: str = "the request body") -> object:
    """Parse JSON strictly (orjson: no NaN, no infinity) and bound its depth."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):  # orjson's own bound (1024)
            raise BadRequest(_too_deep(what, MAX_JSON_DEPTH)) from None
        raise BadRequest(f"{what} is not valid JSON: {exc}") from None
    if not raw_depth_within(raw.encode() if isinstance(raw, str) else raw):
        raise BadRequest(_too_deep(what, MAX_JSON_DEPTH))
    return doc


def year_or_date(text: object, name: str, *, years: tuple[int, int] = (1990, 2100)):
    """A year (`2026`, within `years`) as int, or an ISO date (`2026-03-01`) as date: how
    a fiscal year or a date of service is given to the encoder, the API and the CLI."""
    from datetime import date

    if isinstance(text, str) and _DIGITS.fullmatch(text) and len(text) <= 4:
        return whole_number(text, name, minimum=years[0], maximum=years[1])
    try:
        if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        shown = text[:40] if isinstance(text, str) else text
        raise BadRequest(
            f"{name} must be a year ({years[0]}-{years[1]}) or a date (YYYY-MM-DD), not {shown!r}"
        ) from None
