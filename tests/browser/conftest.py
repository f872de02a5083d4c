"""The web client in Debian's chromium, driven by Playwright, against a real server.

One `companion serve` process (its own data folder, a free port) serves every
test of the session; each test signs up its own user in a fresh browser context.
Chromium comes from apt (`scripts/browser.sh`, run by `make test`), never from
`playwright install`; without it these tests fail, they do not skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.browser import WAIT_MS, browser  # noqa: F401  (the session's chromium)
from tests.support.server import Server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("browser-server"))
    server.env["COMPANION_CATALOGUE_DEFAULTS"] = "true"
    server.env["COMPANION_PAYMENTS"] = "sandbox"
    server.start()
    yield server
    if server.process is not None:
        server.stop()


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:  # noqa: F811
    context = browser.new_context(base_url=server.base, locale="en-US")
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page of the client; a script error on it fails the test."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    expect.set_options(timeout=WAIT_MS)
    yield page
    assert errors == []
