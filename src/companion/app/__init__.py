"""Wiring and entry points: settings, the application, the API and the CLI."""
