"""The designers' page over HTTP: the messages that fell back or scored low, grouped, for supervisors and
admins only; the export of a selection as NLU YAML (CSRF-protected), never with the customer's number."""

import re
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import requests
from rasa.shared.nlu.training_data.loading import load_data

from tests.support.handoff_env import PASSWORD, Handoff, running_handoff
from tests.support.nlu_review import CUSTOMER, write_turns
from tests.support.redis_process import RedisProcess


@pytest.fixture(scope="module")
def handoff(redis_proc: RedisProcess) -> Iterator[Handoff]:
    """One service for the module's tests (they only read and export); the database is emptied after them."""
    write_turns(redis_proc.url)
    with running_handoff(redis_proc.url) as running:
        yield running
    redis_proc.client().flushall()


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(handoff: Handoff, username: str) -> Tuple[requests.Session, str]:
    """A signed-in session and the CSRF token of its pages."""
    browser = requests.Session()
    answer = browser.post(handoff.url + "/login", timeout=10, data={
        "username": username, "password": PASSWORD,
        "csrf_token": csrf_token(browser.get(handoff.url + "/login", timeout=10).text)})
    assert answer.status_code == 200, answer.text
    return browser, csrf_token(answer.text)


def test_a_supervisor_reviews_grouped_messages_and_exports_a_selection(handoff: Handoff, tmp_path: Path) -> None:
    browser, csrf = sign_in(handoff, "sam")
    page = browser.get(handoff.url + "/inbox/designer", timeout=30)
    assert page.status_code == 200, page.text
    groups = re.findall(r'<section class="card group" id="group-([\w-]+)">', page.text)
    assert groups == ["complaint", "get_refund", "order_status"]
    assert page.text.count('name="wamid"') == 4  # the greeting was understood: not listed
    assert "my parcel came wet, call me on &lt;phone&gt;" in page.text
    assert "151" not in page.text and CUSTOMER not in page.text  # no number shown, not even the customer's
    assert '<option value="complaint">' in page.text and '<option value="faq">' not in page.text

    answer = browser.post(handoff.url + "/inbox/designer/export", timeout=30, data={
        "csrf_token": csrf, "intent": "complaint", "wamid": ["wamid.review2", "wamid.review3"]})
    assert answer.status_code == 200, answer.text
    assert re.match(r'attachment; filename="nlu-candidates-complaint-\d{8}-\d{6}\.yml"',
                    answer.headers["Content-Disposition"])
    saved = tmp_path / "candidates.yml"
    saved.write_text(answer.text)
    examples = load_data(str(saved)).intent_examples
    assert [(m.get("intent"), m.get("text")) for m in examples] == [
        ("complaint", "my parcel came wet, call me on <phone>"), ("complaint", "the box was all squashed when it came")]
    assert "151" not in answer.text and CUSTOMER not in answer.text


def test_the_export_needs_its_csrf_token_an_intent_and_a_selection(handoff: Handoff) -> None:
    browser, csrf = sign_in(handoff, "sam")
    export = handoff.url + "/inbox/designer/export"
    assert browser.post(export, data={"intent": "complaint", "wamid": "wamid.review2"}, timeout=10).status_code == 400
    for data in ({"intent": "faq", "wamid": "wamid.review2"}, {"intent": "", "wamid": "wamid.review2"},
                 {"intent": "complaint"}, {"intent": "complaint", "wamid": "wamid.unknown"}):
        answer = browser.post(export, data={"csrf_token": csrf, **data}, timeout=10)
        assert answer.status_code == 400 and answer.text.strip(), data


def test_agents_have_no_designers_page(handoff: Handoff) -> None:
    browser, csrf = sign_in(handoff, "alice")
    assert browser.get(handoff.url + "/inbox/designer", timeout=10).status_code == 403
    assert browser.post(handoff.url + "/inbox/designer/export", timeout=10, data={
        "csrf_token": csrf, "intent": "complaint", "wamid": "wamid.review2"}).status_code == 403
    stranger = requests.get(handoff.url + "/inbox/designer", timeout=10, allow_redirects=False)
    assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]
