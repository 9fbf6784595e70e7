"""advbook's version, in a module of its own so anything can read it."""

__version__ = "0.1.0"
