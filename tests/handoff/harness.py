"""The inbox as an agent's browser sees it: signed in, with the page's CSRF token."""

import re

import requests

from tests.support.handoff_env import PASSWORD, Handoff


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def signed_in(handoff: Handoff, username: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    token = csrf(browser.get(handoff.url + "/login", timeout=10).text)
    answer = browser.post(handoff.url + "/login", data={"username": username, "password": PASSWORD,
                                                        "csrf_token": token}, timeout=10)
    assert answer.status_code == 200 and answer.url.endswith("/inbox"), answer.text[:300]
    return browser, csrf(answer.text)
