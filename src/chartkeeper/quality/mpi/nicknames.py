"""Given-name nicknames, so that Bob and Robert compare as one given name.

The list is the `nicknames` package's (Old Dominion University's curated English names and
nicknames, Apache-2.0): about 2,700 name/nickname relations, maintained upstream rather than
typed here. `name_keys(NAME)` is the name itself plus every formal name it may be a short
form of, and the formal name's own key when NAME is formal; two given names are
nickname-equivalent when their keys intersect (Bob {BOB, ROBERT} and Rob {ROB, ROBERT} share
ROBERT). The model compares the keys with Splink's array-intersection level, which every
backend has; how much a shared key is worth is learnt like any other level (u by sampling,
m by EM), so the list's looser relations cost little.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _canonicals() -> dict[str, frozenset[str]]:
    from nicknames import NickNamer

    return {
        nick.upper(): frozenset(c.upper() for c in formal)
        for nick, formal in NickNamer().canonical_lookup.items()
        if formal
    }


def name_keys(name: str) -> list[str]:
    """The upper-case given name and the formal names it may stand for, sorted."""
    return sorted({name, *_canonicals().get(name, ())})
