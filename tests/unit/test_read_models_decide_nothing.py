"""No read model can run a domain policy: from the domain it imports only types and ids.

A projection copies what the events carry. Aggregates and their event
classes, plain value types, constants and the identity helpers (deterministic
ids) are what it may take from the domain; a function that decides (a mood, a
baseline, an expression) would be decided again at every rebuild.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import projections

ALLOWED_FUNCTION_MODULES = {"companion.domain.identity"}
READ_MODELS = sorted(Path(projections.__file__).parent.glob("*.py"))


def domain_imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) of every import from the domain; name None for a whole module."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("companion"):
            found.extend((node.module or "", alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((a.name, None) for a in node.names if a.name.startswith("companion"))
    return found


def test_the_read_models_are_found() -> None:
    names = {path.stem for path in READ_MODELS}
    assert {"emotion_states", "characters", "conversations", "memories"} <= names


def test_no_read_model_imports_a_domain_function_other_than_an_id() -> None:
    offending: list[str] = []
    for path in READ_MODELS:
        for module, name in domain_imports(path):
            if name is None:
                offending.append(f"{path.name}: import {module} (reaches every policy in it)")
                continue
            value = getattr(importlib.import_module(module), name)
            if isinstance(value, ModuleType):
                offending.append(f"{path.name}: {module}.{name} (reaches every policy in it)")
                continue
            if isinstance(value, type) or not callable(value):
                continue
            if module not in ALLOWED_FUNCTION_MODULES:
                offending.append(f"{path.name}: {name} from {module}")
    assert offending == []
