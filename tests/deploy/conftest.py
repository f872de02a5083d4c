"""The deployment's files, rendered and parsed once per test session.

Everything under tests/deploy reads files only: no server, no network, no
Docker, kustomize or terraform binary.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.support import kustomize
from tests.support.deploy import DEPLOY, OVERLAYS, ROOT


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: kustomize.build(DEPLOY / "k8s" / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())
