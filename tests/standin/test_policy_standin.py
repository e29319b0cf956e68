"""The stand-in is faithful about templates: the same registry, Meta's codes, status and preference webhooks."""

import json
from typing import Any, Iterator, Tuple

import pytest
import redis

from cloud_api_standin.app import create_app
from tests.standin.harness import AUTH, CUSTOMER, PHONE_ID, SECRET, TOKEN, URL, make_standin, wait_for_statuses
from tests.support.helpers import PAYLOADS, serve_wsgi
from whatsapp_cloud.graph.client import SyncGraphApiClient
from whatsapp_cloud.graph.config import CloudApiConfig
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.registry_file import merge
from whatsapp_cloud.policy.store import SyncPolicyStore
from whatsapp_cloud.policy.templates import TemplateRegistry
from whatsapp_cloud.webhooks import inbound, signature

REGISTRY = TemplateRegistry.from_file(PolicyConfig().templates_file)
WABA = "100000000000002"


def template_send(name: str = "order_update", language: str = "en_US", **values: str) -> dict:
    values = values or {"order_id": "1001", "status": "shipped"}
    return {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
            "template": REGISTRY.build(name, language, values)}


def error_code(answer: Any) -> int:
    return answer.get_json()["error"]["code"]


def test_an_approved_template_goes_out_outside_the_window(standin):
    answer = standin.post(URL, json=template_send(), headers=AUTH)
    assert answer.status_code == 200, answer.get_json()


def test_unknown_template_or_language_is_132001(standin):
    placeholder = json.loads((PAYLOADS / "meta_openapi_send_template_header_body_quickreply_request.json")
                             .read_text().replace("{{Recipient-Phone-Number}}", CUSTOMER))
    for body in (placeholder, {**template_send(), "template": {**template_send()["template"],
                                                                 "language": {"code": "de_DE"}}}):
        answer = standin.post(URL, json=body, headers=AUTH)
        assert answer.status_code == 400 and error_code(answer) == 132001


def test_wrong_parameter_count_is_132000_and_wrong_format_132008(standin):
    body = template_send()
    body["template"]["components"][0]["parameters"].pop()
    assert error_code(standin.post(URL, json=body, headers=AUTH)) == 132000
    body = template_send()
    body["template"]["components"][0]["parameters"][1]["text"] = "two\nlines"
    assert error_code(standin.post(URL, json=body, headers=AUTH)) == 132008
    refusals = standin.get("/_standin/refusals").get_json()["refusals"]
    assert [r["code"] for r in refusals] == [132000, 132008]


def test_pausing_a_template_refuses_it_and_tells_the_bot(standin, receiver):
    hook, _ = receiver
    answer = standin.post("/_standin/templates/order_update/en_US", json={"status": "PAUSED", "reason": "LOW"})
    assert answer.status_code == 200
    assert error_code(standin.post(URL, json=template_send(), headers=AUTH)) == 132015
    standin.post("/_standin/templates/order_update/en_US", json={"status": "DISABLED"})
    assert error_code(standin.post(URL, json=template_send(), headers=AUTH)) == 132016
    bodies = [inbound.events(json.loads(r["body"])) for r in hook.received]
    assert [(e[0].field, e[0].value["event"]) for e in bodies] == [
        ("message_template_status_update", "PAUSED"), ("message_template_status_update", "DISABLED")]
    assert all(signature.is_valid(r["body"], r["headers"]["X-Hub-Signature-256"], (SECRET,)) for r in hook.received)
    assert standin.post("/_standin/templates/nope/en_US", json={"status": "PAUSED"}).status_code == 404


def test_recategorising_a_template_sends_the_category_webhook(standin, receiver):
    standin.post("/_standin/templates/conversation_followup/en_US", json={"category": "MARKETING"})
    [change] = inbound.events(json.loads(receiver[0].received[0]["body"]))
    assert change.field == "template_category_update"
    assert (change.value["previous_category"], change.value["new_category"]) == ("UTILITY", "MARKETING")


def test_a_customer_who_stopped_marketing_gets_131050_for_marketing_only(receiver):
    hook, url = receiver
    standin = make_standin(url)
    answer = standin.post(f"/_standin/customers/{CUSTOMER}/preferences", json={"marketing": "stop"})
    assert answer.status_code == 200
    [preference] = inbound.events(json.loads(hook.received[0]["body"]))
    assert isinstance(preference, inbound.PreferenceUpdate) and preference.value == "stop"
    promo = template_send("weekend_promo", discount="20%")
    assert standin.post(URL, json=promo, headers=AUTH).status_code == 200  # accepted, failed later
    [failed] = wait_for_statuses(hook, 1)
    assert failed.status == "failed" and failed.error_codes == [131050]
    assert standin.post(URL, json=template_send(), headers=AUTH).status_code == 200
    assert standin.post(f"/_standin/customers/{CUSTOMER}/preferences", json={"marketing": "maybe"}).status_code == 400


@pytest.fixture()
def graph() -> Iterator[Tuple[str, Any]]:
    app = create_app({"WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_APP_SECRET": SECRET,
                      "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/"})
    with serve_wsgi(app) as url:
        yield url, app


def test_the_template_list_pages_like_the_graph_api_and_sync_rebuilds_the_registry(graph):
    url, _ = graph
    client = SyncGraphApiClient(CloudApiConfig(access_token=TOKEN, phone_number_id=PHONE_ID, api_base_url=url))
    try:
        listed = client.message_templates(WABA, page_size=3)  # several pages
    finally:
        client.close()
    assert len(listed) == len(REGISTRY)
    assert {(t["name"], t["language"]) for t in listed} == {(t.name, t.language) for t in REGISTRY}
    merged, skipped = merge(listed, {})
    assert skipped == []
    rebuilt = TemplateRegistry.from_mapping(merged)
    assert rebuilt.get("weekend_promo", "en_US").quick_replies[1].payload == "STOP_PROMOTIONS"


def test_the_template_list_checks_token_and_account(standin):
    assert error_code(standin.get(f"/v26.0/{WABA}/message_templates")) == 190
    assert error_code(standin.get("/v26.0/999/message_templates", headers=AUTH)) == 100
    assert error_code(standin.get(f"/v26.0/{WABA}/message_templates?after=x", headers=AUTH)) == 100


def cli_env(monkeypatch: pytest.MonkeyPatch, url: str, tmp_path: Any, waba: str = WABA, redis_url: str = "") -> None:
    for name, value in {"WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_API_BASE_URL": url, "WHATSAPP_APP_SECRET": SECRET,
                        "WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "WHATSAPP_WABA_ID": waba,
                        "VAR_DIR": str(tmp_path / "var"), "ENV_FILE": str(tmp_path / "none.env"),
                        "REDIS_URL": redis_url or "redis://127.0.0.1:9/0"}.items():
        monkeypatch.setenv(name, value)


def test_sync_templates_command_rewrites_the_file_from_the_graph_api(graph, monkeypatch, tmp_path, capsys, redis_url):
    from tools import sync_templates

    cli_env(monkeypatch, graph[0], tmp_path, redis_url=redis_url)
    store = SyncPolicyStore(redis.Redis.from_url(redis_url), PolicyConfig())
    store.override_template("status", "order_update:en_US", "PAUSED")
    target = tmp_path / "whatsapp_templates.yml"
    target.write_text("# Our templates\ntemplates: {}\n")
    assert sync_templates.main(["--file", str(target)]) == 0
    assert target.read_text().startswith("# Our templates\n")
    synced = TemplateRegistry.from_file(target)
    assert {t.key for t in synced} == {t.key for t in REGISTRY}
    assert "templates" in capsys.readouterr().out
    assert store.snapshot("15551230001").template_status == {}  # the file is Meta's word again


def test_sync_templates_command_reports_a_wrong_account_and_writes_nothing(graph, monkeypatch, tmp_path, capsys):
    from tools import sync_templates

    cli_env(monkeypatch, graph[0], tmp_path, waba="999")
    target = tmp_path / "whatsapp_templates.yml"
    target.write_text("templates: {}\n")
    assert sync_templates.main(["--file", str(target)]) == 1
    assert "999" in capsys.readouterr().err and target.read_text() == "templates: {}\n"
