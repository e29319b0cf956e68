"""The campaigns' and notifications' JSON API in the handoff service, over HTTP with Redis and the stand-in."""

import json

import redis
import requests

from campaigns import keys
from tests.support.handoff_env import API_TOKEN, running_handoff
from whatsapp_cloud.policy.consent import SCOPES

CUSTOMERS = ["15557000001", "15557000002", "15557000003"]


def opted_in(handoff, *wa_ids):
    for wa_id in wa_ids:
        handoff.policy.record_consent(wa_id, "in", SCOPES, "website", "Send me order updates on WhatsApp")


def test_a_campaign_from_csv_is_created_as_a_draft_planned_started_paused_and_cancelled(redis_url):
    with running_handoff(redis_url, WHATSAPP_MESSAGING_LIMIT_TIER="unlimited") as handoff:
        opted_in(handoff, *CUSTOMERS[:2])
        csv_text = "wa_id,order_id,status\n" + "".join(f"{w},1001,shipped\n" for w in CUSTOMERS) + \
            f"{CUSTOMERS[0]},1001,shipped\n+1 555 700 0009,1001,\n"
        created = requests.post(handoff.url + "/api/campaigns?name=shipping&template=order_update&draft=true",
                                data=csv_text, timeout=30,
                                headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "text/csv"})
        assert created.status_code == 201, created.text
        campaign = created.json()["campaign"]
        cid = campaign["id"]
        assert campaign["state"] == "draft" and campaign["total"] == 4 and campaign["duplicates_dropped"] == 1
        assert campaign["counts"] == {"queued": 3, "blocked": 1}  # the last row lacks its status

        plan = handoff.api("GET", f"/api/campaigns/{cid}/plan").json()["plan"]
        assert plan["allowed"] == 2 and plan["blocked_by_reason"] == {"no utility opt-in for template order_update": 1}
        assert plan["estimated_cost"]["by_category"]["utility"] and plan["estimated_seconds"] == 1

        blocked = handoff.api("GET", f"/api/campaigns/{cid}/recipients?status=blocked").json()["recipients"]
        assert [(r["wa_id"], r["reason"]) for r in blocked] == [
            ("15557000009", "parameters: order_update: parameter status is empty")]

        assert handoff.api("POST", f"/api/campaigns/{cid}/resume").status_code == 409  # a draft is not paused
        assert handoff.api("POST", f"/api/campaigns/{cid}/start").json()["campaign"]["state"] == "sending"
        paused = handoff.api("POST", f"/api/campaigns/{cid}/pause").json()["campaign"]
        assert paused["state"] == "paused" and paused["reason"] == "paused by an operator"
        assert handoff.api("POST", f"/api/campaigns/{cid}/cancel").json()["campaign"]["state"] == "cancelled"
        assert handoff.api("POST", f"/api/campaigns/{cid}/start").status_code == 409
        assert [c["id"] for c in handoff.api("GET", "/api/campaigns").json()["campaigns"]] == [cid]


def test_json_campaigns_are_checked_and_scheduled(redis_url):
    with running_handoff(redis_url) as handoff:
        body = {"name": "promo", "template": "weekend_promo", "language": "en_US",
                "recipients": [{"wa_id": CUSTOMERS[0], "values": {"discount": "20%"}}],
                "start_at": "2999-01-01T09:00:00+00:00"}
        scheduled = handoff.api("POST", "/api/campaigns", json=body)
        assert scheduled.status_code == 201 and scheduled.json()["campaign"]["state"] == "scheduled"
        for wrong, message in (({"template": "no_such"}, "does not exist"),
                               ({"start_at": "tomorrow"}, "ISO 8601"),
                               ({"start_at": "2999-01-01T09:00:00"}, "time zone"),
                               ({"recipients": [{"wa_id": "call me"}]}, "international format"),
                               ({"recipients": []}, "no recipients")):
            answer = handoff.api("POST", "/api/campaigns", json={**body, **wrong})
            assert answer.status_code == 400 and message in answer.json()["error"], (wrong, answer.text)
        assert handoff.api("GET", "/api/campaigns/nope").status_code == 404


def test_agents_may_not_send_campaigns_or_notifications_supervisors_may(redis_url):
    with running_handoff(redis_url) as handoff:
        alice, sam = handoff.login("alice"), handoff.login("sam")
        body = {"template": "order_update", "recipients": [{"wa_id": CUSTOMERS[0], "values": {}}]}
        assert handoff.api("POST", "/api/campaigns", alice, json=body).status_code == 403
        assert handoff.api("GET", "/api/campaigns", alice).status_code == 403
        assert handoff.api("POST", "/api/notifications", alice, json={"wa_id": CUSTOMERS[0]}).status_code == 403
        created = handoff.api("POST", "/api/campaigns", sam, json={**body, "draft": True})
        assert created.status_code == 201 and created.json()["campaign"]["created_by"] == "sam"


def test_a_notification_goes_once_through_the_policy(redis_url):
    with running_handoff(redis_url) as handoff:
        opted_in(handoff, CUSTOMERS[0])
        body = {"wa_id": CUSTOMERS[0], "template": "order_update", "values": {"order_id": "1001", "status": "shipped"}}
        headers = {"Authorization": f"Bearer {API_TOKEN}", "Idempotency-Key": "order-1001-shipped"}
        first = requests.post(handoff.url + "/api/notifications", json=body, headers=headers, timeout=30)
        again = requests.post(handoff.url + "/api/notifications", json=body, headers=headers, timeout=30)
        assert first.status_code == again.status_code == 201, first.text
        assert first.json()["wamid"] == again.json()["wamid"]
        assert "Update on your order 1001: shipped" in first.json()["text"]
        assert len(handoff.outbox(CUSTOMERS[0])) == 1
        origin = redis.Redis.from_url(redis_url, decode_responses=True).hgetall(keys.origin(first.json()["wamid"]))
        assert origin == {"origin": "notification", "campaign": "", "campaign_name": "", "template": "order_update",
                          "language": "en_US"}  # a reply quoting it names its template
        refused = handoff.api("POST", "/api/notifications", json={**body, "wa_id": CUSTOMERS[1]})
        assert refused.status_code == 422 and "opt-in" in refused.json()["error"]


def test_the_command_line_creates_plans_and_shows_a_campaign(redis_url, tmp_path, monkeypatch, capsys):
    from tools import campaigns as command

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "none.env"))
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text("wa_id,discount\n15557000001,20%\n15557000002,\n")
    assert command.main(["create", "--template", "weekend_promo", "--csv", str(csv_file), "--draft"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["state"] == "draft" and created["counts"] == {"queued": 1, "blocked": 1}
    assert command.main(["plan", created["id"]]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["blocked_by_reason"] == {"no marketing opt-in for template weekend_promo": 1}
    assert command.main(["resume", created["id"]]) == 2  # a draft is not paused
    assert "cannot become sending" in capsys.readouterr().err
