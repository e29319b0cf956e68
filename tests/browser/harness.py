"""What the browser tests share: Debian's Chromium, its flags, screenshots, signing in."""

from playwright.sync_api import Page, expect

from tests.support.chromium import ARGS, CHROMIUM, SHOTS  # noqa: F401 - the browser tests import them from here
from tests.support.handoff_env import PASSWORD


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(base + "/inbox")
