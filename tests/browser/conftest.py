"""Fixtures of the browser tests: one Chromium per module."""

from typing import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.harness import ARGS, CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()
