"""companion: an event-sourced backend for AI companion apps."""

__version__ = "0.1.0"
