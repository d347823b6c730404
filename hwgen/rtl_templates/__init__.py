"""Hand-written Verilog/Tcl/constraint templates (board tops, vendor project scripts),
installed as ``hwgen.rtl_templates`` and read with :mod:`importlib.resources`.

A template names its blanks ``{{name}}``; :func:`render` fills every one and refuses a
blank left empty or a value no blank asks for.
"""

from __future__ import annotations

import re
from importlib import resources

__all__ = ["render"]

_BLANK = re.compile(r"\{\{(\w+)\}\}")


def render(template: str, **values: object) -> str:
    """The template file ``template`` with each ``{{name}}`` replaced by ``values[name]``."""
    text = (resources.files(__name__) / template).read_text()
    wanted = set(_BLANK.findall(text))
    missing, unused = wanted - values.keys(), values.keys() - wanted
    if missing or unused:
        raise KeyError(f"template {template}: blanks without values {sorted(missing)}, "
                       f"values without blanks {sorted(unused)}")
    return _BLANK.sub(lambda m: str(values[m[1]]), text)
