"""The detector catalogue: every detector a rule file may name, by name.

A rule chooses one of these and sets its parameters; adding a kind of check means adding a
detector here (in `documentation.py` or `integrity.py`), while changing a deadline or a code
list is an edit of a rule file.
"""

from __future__ import annotations

from . import documentation, integrity
from .checks import Detector

DETECTORS: dict[str, Detector] = {
    d.name: d
    for module in (documentation, integrity)
    for d in vars(module).values()
    if isinstance(d, Detector)
}
