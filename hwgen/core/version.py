"""The version of hwgen, recorded in every build folder."""

__version__ = "0.1.0"
