"""Dockerfile: multi-stage, a pinned base, hashed installs in the build stage only,
and a final stage that runs `companion` as a fixed non-root user."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.support.deploy import ROOT

pytestmark = pytest.mark.files

BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|make|build-essential|python3-dev|libpq-dev|git)\b")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            pairs.append((keyword.upper(), arguments.strip()))
    return pairs


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text())


def stages() -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, arguments in DOCKERFILE:
        if keyword == "FROM":
            current = []
            found[arguments.split(" AS ")[-1]] = current
        current.append((keyword, arguments))
    return found


def arguments_of(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for k, arguments in stage if k == keyword]


def test_the_base_image_is_pinned_by_its_exact_tag():
    (base,) = [a for k, a in DOCKERFILE if k == "ARG" and a.startswith("PYTHON_IMAGE=")]
    image = base.removeprefix("PYTHON_IMAGE=")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image)
    assert set(stages()) == {"build", "runtime"}
    assert all(s[0][1].startswith("${PYTHON_IMAGE} AS ") for s in stages().values())


def test_the_build_stage_installs_only_hashed_locked_packages():
    build = stages()["build"]
    runs = " ".join(arguments_of(build, "RUN"))
    assert "pip install --require-hashes --no-deps -r requirements.lock" in runs
    assert "--no-build-isolation" in runs
    assert "--no-index" in runs
    assert "PIP_NO_CACHE_DIR=1" in " ".join(arguments_of(build, "ENV"))
    assert "requirements.lock ./" in arguments_of(build, "COPY")


def test_the_final_stage_has_no_build_tools_and_no_pip_cache():
    runtime = stages()["runtime"]
    for run in arguments_of(runtime, "RUN"):
        assert not BUILD_TOOLS.search(run), run
        assert "pip" not in run
    copies = arguments_of(runtime, "COPY")
    assert copies == ["--from=build /opt/companion /opt/companion"]
    assert "uninstall --yes setuptools wheel pip" in " ".join(
        arguments_of(stages()["build"], "RUN")
    )


def test_the_final_stage_runs_companion_as_a_fixed_non_root_user():
    runtime = stages()["runtime"]
    (user,) = arguments_of(runtime, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert int(uid) >= 1000
    assert f"--uid {uid}" in " ".join(arguments_of(runtime, "RUN"))
    assert arguments_of(runtime, "ENTRYPOINT") == ['["companion"]']
    assert arguments_of(runtime, "CMD") == ['["serve", "--host", "0.0.0.0"]']


def test_the_data_dir_is_a_volume_and_the_health_check_asks_health():
    runtime = stages()["runtime"]
    environment = " ".join(arguments_of(runtime, "ENV"))
    data_dir = re.search(r"COMPANION_DATA_DIR=(\S+)", environment)
    assert data_dir
    assert arguments_of(runtime, "VOLUME") == [f'["{data_dir.group(1)}"]']
    (healthcheck,) = arguments_of(runtime, "HEALTHCHECK")
    assert re.search(r"urlopen\('http://127\.0\.0\.1:8000/health'", healthcheck)
    assert "COMPANION_PORT=8000" in environment


def test_the_build_context_holds_no_secret_or_local_state():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :][:1] == ["*"]
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    assert allowed == {"requirements.lock", "pyproject.toml", "README.md", "src", "projections"}


def test_the_wheel_holds_every_package_of_the_source_tree():
    # An editable install finds every package; the image's wheel holds only those listed.
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(base).parts)
        for base, top in ((ROOT / "src", "companion"), (ROOT, "projections"))
        for init in (base / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - listed == set()
