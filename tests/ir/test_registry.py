"""hwgen.ir.registry: an op is registered under its name once; an empty or taken name is
refused."""

import pytest

from hwgen.ir.layer import Layer
from hwgen.ir.registry import OPS, register


def test_register_adds_a_new_op_and_refuses_empty_or_taken_names(monkeypatch):
    monkeypatch.setattr("hwgen.ir.registry.OPS", dict(OPS))
    from hwgen.ir import registry

    class Fresh(Layer):
        op = "fresh_op"

    assert register(Fresh) is Fresh and registry.OPS["fresh_op"] is Fresh

    class Taken(Layer):
        op = "dense"

    with pytest.raises(ValueError) as err:
        register(Taken)
    assert str(err.value) == "op name 'dense' of Taken is empty or taken"
    assert registry.OPS["dense"] is OPS["dense"]

    class Nameless(Layer):
        pass

    with pytest.raises(ValueError) as err:
        register(Nameless)
    assert str(err.value) == "op name '' of Nameless is empty or taken"
    assert "" not in registry.OPS
