"""The image's contents without a container engine: scripts/image-contents.sh runs the
Dockerfile's build-stage RUN lines into a temporary folder (from the lock file, so it
needs PyPI or pip's cache) and serves /health from the venv they made."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.deploy import ROOT

pytestmark = pytest.mark.slow


def test_the_images_build_steps_make_a_venv_that_serves_health():
    result = subprocess.run(
        [str(ROOT / "scripts" / "image-contents.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no pip/setuptools/wheel" in result.stdout
    assert "companion --help: ok" in result.stdout
    assert "companion serve: /health 200" in result.stdout
    assert "companion projections status: ok" in result.stdout
