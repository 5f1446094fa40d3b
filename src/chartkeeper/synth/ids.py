"""Deterministic randomness and identifiers: seeded streams, UUIDs, collision-free numbers.

Everything random in the generator comes from a `random.Random` built here from a tuple of
parts (seed, patient slot, module name, ...). Seeding from a string goes through SHA-512 in
CPython, so streams are stable across runs and independent of PYTHONHASHSEED.
"""

from __future__ import annotations

import math
import random
import uuid
from functools import lru_cache

# Fixed namespace for ids that must not depend on the seed (the facility bundle).
FACILITY_NAMESPACE = uuid.UUID("6f1c1c52-4d55-4a57-9b0a-3c1f0c7e2a10")

# Each patient slot may register up to this many Patient records (duplicates, twins), and
# every one of them needs its own MRN/SSN from the collision-free number spaces below.
REGISTRATIONS_PER_SLOT = 8

MRN_SPACE = 100_000_000  # 8-digit MRNs
# Area 900-999 is never issued as an SSN; groups 01-49 keep clear of ITIN group ranges.
SSN_SPACE = 100 * 49 * 9999


def stream(*parts: object) -> random.Random:
    """A random stream keyed by `parts`; equal parts give an identical stream."""
    return random.Random("|".join(map(str, parts)))


def uuid4_from(rng: random.Random) -> str:
    """A version-4-shaped UUID string drawn from `rng` (not from the OS)."""
    n = rng.getrandbits(128)
    n = (n & ~(0xF << 76)) | (0x4 << 76)
    n = (n & ~(0x3 << 62)) | (0x2 << 62)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class IdStream:
    """Cheap unique UUID-shaped ids: a random 80-bit prefix per stream plus a counter.

    Drawing 128 fresh random bits per resource was a tenth of the generation time; ids
    only need to be unique and deterministic, and a random prefix per (chart, module)
    stream makes collisions across streams as unlikely as for random UUIDs.
    """

    __slots__ = ("_next", "_prefix")

    def __init__(self, rng: random.Random):
        n = rng.getrandbits(128)
        h = f"{n:032x}"
        self._prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[n & 3]}{h[17:20]}-"
        self._next = int(h[20:], 16)

    def __call__(self) -> str:
        self._next = (self._next + 1) & 0xFFFFFFFFFFFF
        return f"{self._prefix}{self._next:012x}"


def facility_uuid(name: str) -> str:
    return str(uuid.uuid5(FACILITY_NAMESPACE, name))


@lru_cache(maxsize=64)
def _affine(seed: int, kind: str, modulus: int) -> tuple[int, int]:
    rng = stream("affine", seed, kind)
    while True:
        a = rng.randrange(modulus // 3, modulus)
        if math.gcd(a, modulus) == 1:
            return a, rng.randrange(modulus)


def unique_number(seed: int, kind: str, slot: int, registration: int, modulus: int) -> int:
    """A number in [0, modulus) that no other (slot, registration) gets for this seed.

    An affine map with a multiplier coprime to the modulus is a bijection, so random-looking
    numbers never collide, which matters at a million patients where independent draws would.
    """
    if not 0 <= registration < REGISTRATIONS_PER_SLOT:
        raise ValueError(f"registration must be in [0, {REGISTRATIONS_PER_SLOT})")
    x = slot * REGISTRATIONS_PER_SLOT + registration
    if x >= modulus:
        raise ValueError(f"slot {slot} is beyond the {kind} number space")
    a, b = _affine(seed, kind, modulus)
    return (a * x + b) % modulus


def mrn(seed: int, slot: int, registration: int = 0) -> str:
    return f"{unique_number(seed, 'mrn', slot, registration, MRN_SPACE):08d}"


def ssn(seed: int, slot: int, registration: int = 0) -> str:
    n = unique_number(seed, "ssn", slot, registration, SSN_SPACE)
    area, rest = divmod(n, 49 * 9999)
    group, serial = divmod(rest, 9999)
    return f"{900 + area:03d}-{group + 1:02d}-{serial + 1:04d}"


def npi(base: int) -> str:
    """A 10-digit NPI with a valid Luhn check digit (prefix 80840), in an unissued 9999 range."""
    body = f"99999{base:04d}"
    digits = [int(d) for d in "80840" + body]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return body + str((10 - total % 10) % 10)
