"""Stream blocks, one ``wiring.Component`` per module, each stating its ``latency`` and its
``cost(family)``."""
