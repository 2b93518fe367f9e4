"""calcard: calendar and contacts server for organizations."""

__version__ = "0.1.0"
