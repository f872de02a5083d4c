"""Helpers shared by the tests, one module per job; the fixtures live in the conftest.py files."""
