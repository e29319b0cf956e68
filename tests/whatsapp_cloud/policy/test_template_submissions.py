"""A template made in the app goes the whole way: submitted to the stand-in over HTTP, reviewed, its status webhook
handled by the WhatsApp channel's real consumer (signed webhook, durable stream, policy hooks) on a real Redis, and
an approved one written into the registry file by the registry's one writer."""

import shutil
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml
from flask import Flask, request

from cloud_api_standin.app import create_app as create_standin
from tests.support import channel_harness
from tests.support.helpers import serve_wsgi
from whatsapp_cloud import redis_connection
from whatsapp_cloud.graph.client import SyncGraphApiClient
from whatsapp_cloud.graph.config import CloudApiConfig
from whatsapp_cloud.graph.errors import GraphApiError
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.template_drafts import TemplateDraft
from whatsapp_cloud.policy.template_submissions import (
    SubmissionError,
    TemplateSubmissions,
    get_program,
    record_program,
    status_program,
)
from whatsapp_cloud.policy.templates import TemplateRegistry, template_key
from whatsapp_cloud.redis_programs import run_sync

WABA = "100000000000002"
TOKEN = "tok"


class Sink:
    """Where the stand-in delivers its webhooks: kept as sent, to hand to the channel."""

    def __init__(self) -> None:
        self.bodies: List[bytes] = []
        self.app = Flask("sink")
        self.app.add_url_rule("/webhook", "webhook", self.webhook, methods=["POST"])

    def webhook(self) -> Any:
        self.bodies.append(request.get_data())
        return "", 200

    def wait(self, count: int, timeout: float = 30.0) -> List[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.bodies) >= count, f"expected {count} webhooks, got {len(self.bodies)}"
        return list(self.bodies)


@pytest.fixture()
def registry_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "whatsapp_templates.yml"
    shutil.copy(PolicyConfig().templates_file, path)
    monkeypatch.setenv("WHATSAPP_TEMPLATES_FILE", str(path))  # the channel's settings
    return path


@pytest.fixture()
def graph(redis_url: str) -> Iterator[Dict[str, Any]]:
    channel_harness.REDIS_URL = redis_url
    sink = Sink()
    with serve_wsgi(sink.app) as sink_url:
        standin = create_standin({"WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_APP_SECRET": channel_harness.SECRET,
                                  "WHATSAPP_PHONE_NUMBER_ID": channel_harness.PHONE_ID,
                                  "STANDIN_WEBHOOK_URL": sink_url + "/webhook", "STANDIN_STATUSES": "off",
                                  "STANDIN_TEMPLATE_REVIEW_DELAY": "0"})
        with serve_wsgi(standin) as url:
            client = SyncGraphApiClient(CloudApiConfig(TOKEN, channel_harness.PHONE_ID, api_base_url=url))
            yield {"url": url, "sink": sink, "client": client}
            client.close()


BACK_IN_STOCK = {"name": "back_in_stock", "language": "en_US", "category": "UTILITY",
                 "header": "About {{product}}", "footer": "Harbour Home Goods", "buttons": ["Reserve it"],
                 "body": "Hi {{first_name}}, the item you asked about is back in stock. Reply to reserve it.",
                 "parameters": {"product": "the oak table", "first_name": "Ana"}}
SPRING_SALE = {"name": "spring_sale", "language": "en_US", "category": "UTILITY",
               "body": "Hi {{first_name}}, get 20% off everything this weekend. Reply STOP to opt out.",
               "parameters": {"first_name": "Ana"}}


def test_created_reviewed_and_an_approved_one_written_to_the_registry(redis_url, registry_file, graph):
    before = yaml.safe_load(registry_file.read_text())["templates"]
    header = registry_file.read_text().split("templates:")[0]
    submissions = TemplateSubmissions(redis_connection.blocking(redis_url), registry_file, graph["client"], WABA)
    for fields in (BACK_IN_STOCK, SPRING_SALE):
        submitted = submissions.submit(TemplateDraft.from_mapping(fields), by="ada")
        assert submitted["status"] == "PENDING" and submitted["id"].isdigit() and submitted["submitted_by"] == "ada"
    assert registry_file.read_text().split("templates:")[0] == header
    assert "back_in_stock" not in registry_file.read_text()  # not before Meta approves it

    webhooks = graph["sink"].wait(2)
    answers, _ = channel_harness.run(graph["url"], [channel_harness.signed_post(body) for body in webhooks])
    assert [a.status for a in answers] == [200, 200]

    listed = {s["name"]: s for s in submissions.list()}
    assert listed["back_in_stock"]["status"] == "APPROVED" and listed["back_in_stock"]["reason"] == ""
    assert listed["spring_sale"]["status"] == "REJECTED"
    assert listed["spring_sale"]["reason"].startswith("INCORRECT_CATEGORY: The template offers something ('20% off')")

    text = registry_file.read_text()
    assert text.startswith(header)
    written = yaml.safe_load(text)["templates"]
    assert {k: v for k, v in written.items() if k != "back_in_stock"} == before  # the others untouched
    assert "spring_sale" not in written
    entry = written["back_in_stock"]
    assert entry["category"] == "UTILITY"
    assert entry["parameters"] == {"header": [{"name": "product", "example": "the oak table"}],
                                   "body": [{"name": "first_name", "example": "Ana"}]}
    assert entry["quick_replies"] == [{"text": "Reserve it", "payload": "RESERVE_IT"}]
    assert entry["languages"]["en_US"]["status"] == "APPROVED"
    assert entry["languages"]["en_US"]["id"] == listed["back_in_stock"]["id"]
    template = TemplateRegistry.from_file(registry_file).build("back_in_stock", "en_US",
                                                               {"product": "the lamp", "first_name": "Bo"})
    assert template["components"][0] == {"type": "header", "parameters": [
        {"type": "text", "text": "the lamp", "parameter_name": "product"}]}

    # Meta's webhook delivered again changes nothing; a second submission of the same template is refused.
    channel_harness.run(graph["url"], [channel_harness.signed_post(webhooks[0])])
    assert registry_file.read_text() == text
    with pytest.raises(SubmissionError):
        submissions.submit(TemplateDraft.from_mapping(BACK_IN_STOCK), by="ada")


def test_a_request_meta_refuses_is_not_kept(redis_url, registry_file, graph):
    submissions = TemplateSubmissions(redis_connection.blocking(redis_url), registry_file, graph["client"], WABA)
    with pytest.raises(GraphApiError) as refused:
        submissions.submit(TemplateDraft.from_mapping({**BACK_IN_STOCK, "name": "order_update"}),
                           by="ada")
    assert refused.value.code == 100 and "already exists" in str(refused.value)
    assert submissions.list() == []


def test_the_command_line_creates_from_a_file_or_flags_and_lists(redis_url, redis_proc, registry_file, graph,
                                                                 tmp_path, monkeypatch, capsys):
    from tools import templates as command

    # Rasa's stores need a plain server beside a cluster, as in a deployment on one.
    for name, value in {"REDIS_URL": redis_url, "RASA_REDIS_URL": redis_proc.url,
                        "WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_API_BASE_URL": graph["url"],
                        "WHATSAPP_PHONE_NUMBER_ID": channel_harness.PHONE_ID, "WHATSAPP_WABA_ID": WABA,
                        "WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v",
                        "VAR_DIR": str(tmp_path / "var"), "ENV_FILE": str(tmp_path / "none.env")}.items():
        monkeypatch.setenv(name, value)
    template = tmp_path / "back_in_stock.yml"
    template.write_text(yaml.safe_dump(BACK_IN_STOCK))
    assert command.main(["create", "--file", str(template)]) == 0
    assert "back_in_stock (en_US) submitted" in capsys.readouterr().out
    flags = ["create", "--name", "spring_sale", "--category", "UTILITY", "--body", SPRING_SALE["body"]]
    assert command.main(flags) == 2  # no example for {{first_name}}
    assert "first_name needs an example" in capsys.readouterr().err
    assert command.main([*flags, "--example", "first_name=Ana"]) == 0
    capsys.readouterr()
    assert command.main(["list"]) == 0
    listed = [line.split()[:4] for line in capsys.readouterr().out.splitlines()]
    assert listed == [["spring_sale", "en_US", "UTILITY", "PENDING"],  # newest first; Meta has not answered here
                      ["back_in_stock", "en_US", "UTILITY", "PENDING"]]


def test_a_review_timed_by_meta_before_our_clock_recorded_the_submission_is_applied(redis_url, registry_file):
    # Meta's answer and its review webhook race the record (and Meta's clock is not ours): the webhook's whole
    # second may be earlier than the moment the submission was kept. Seen as a review left PENDING.
    store = redis_connection.blocking(redis_url)
    answer = {"id": "1234567890", "status": "PENDING", "category": "UTILITY"}
    kept_at = 1_700_000_000.002
    run_sync(store, record_program(TemplateDraft.from_mapping(SPRING_SALE), answer, "ada", kept_at))
    key = template_key("spring_sale", "en_US")
    reviewed = run_sync(store, status_program(key, "REJECTED", "INCORRECT_CATEGORY", kept_at - 1.002))
    assert reviewed is not None and reviewed["status"] == "REJECTED"
    # An older review than the one applied is still ignored.
    assert run_sync(store, status_program(key, "APPROVED", "", kept_at - 2)) is None
    assert run_sync(store, get_program(key))["status"] == "REJECTED"
