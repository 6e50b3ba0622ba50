"""btb: building-automation storage benchmark."""

__version__ = "0.1.0"
