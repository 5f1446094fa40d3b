"""Pictures drawn once per data: a bounded, process-wide memory of rendered plots.

matplotlib's Agg canvas takes 100-300 ms a figure, and a worklist's plot (the deficiency
ageing chart, coder productivity, a result's trend) is asked for on every visit while its
data rarely changes. A function decorated with `drawn_once` takes only the data it draws
(no store, no clock), so the same arguments are the same picture: the key is the
arguments themselves, and a changed count or a new result is a new key, never a stale
picture. Reading the data (through the guarded, audited store) happens before, on every
request; only the drawing is remembered.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

MAX_PICTURES = 128  # a few MB of PNG at most


def drawn_once(draw: Callable[..., bytes]) -> Callable[..., bytes]:
    pictures: OrderedDict[str, bytes] = OrderedDict()
    lock = Lock()

    @functools.wraps(draw)
    def remembered(*args, **kwargs) -> bytes:
        # repr of plain data (dicts keep their order, datetimes and floats print exactly)
        key = hashlib.sha256(repr((args, sorted(kwargs.items()))).encode()).hexdigest()
        with lock:
            if key in pictures:
                pictures.move_to_end(key)
                return pictures[key]
        png = draw(*args, **kwargs)
        with lock:
            pictures[key] = png
            while len(pictures) > MAX_PICTURES:
                pictures.popitem(last=False)
        return png

    remembered.forget = pictures.clear  # type: ignore[attr-defined]
    return remembered
