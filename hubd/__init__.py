"""hubd: the daemon of a smart-home hub."""

__version__ = "0.1.0"
