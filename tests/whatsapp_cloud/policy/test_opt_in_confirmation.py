"""The tap on the opt-in confirmation's button: noted on the opt-in it confirms, once, in the record and the
consent log; it never creates consent nor undoes an opt-out. Real Redis, the hooks the channel calls."""

import time

from tests.support.policy_harness import CUSTOMER, PHONE_ID, H, Harness, scenario
from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.policy.consent import OPT_IN_CONFIRM_PAYLOAD, SCOPES
from whatsapp_cloud.webhooks import inbound

WORDING = "Yes, I want Harbour Home Goods to send me order updates and offers on WhatsApp at this number."


def tap(wamid: str) -> inbound.InboundMessage:
    """The customer taps "Yes, it was me" on the template (Meta's `button` message: payload and text)."""
    return inbound.InboundMessage(wamid, CUSTOMER, int(time.time()), "button", OPT_IN_CONFIRM_PAYLOAD, PHONE_ID,
                                  details={"button": {"payload": OPT_IN_CONFIRM_PAYLOAD, "text": "Yes, it was me"}})


def confirmations(redis_url: str) -> list:
    log = redis_connection.blocking(redis_url, decode_responses=True).xrange(redis_keys.CONSENT_LOG)
    return [fields for _, fields in log if fields["status"] == "confirmed"]


def test_the_tap_is_noted_on_the_website_opt_in_once(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.state.record_consent(CUSTOMER, "in", SCOPES, "website", WORDING, at=await h.state.now() - H)
        first = tap("wamid.confirm-1")
        await h.hooks.on_inbound(first)
        assert h.hooks.turn_text(first) == ("/opt_in", {"wa_consent_changed": ["utility", "marketing"],
                                                        "wa_consent_text": OPT_IN_CONFIRM_PAYLOAD})
        records = (await h.state.snapshot(CUSTOMER)).state.consent.records
        for scope in SCOPES:  # still the website's opt-in, with its wording, now confirmed
            assert (records[scope].status, records[scope].source, records[scope].wording) == ("in", "website", WORDING)
            assert records[scope].confirmed_at is not None
            assert records[scope].confirmation == "Customer tapped 'Yes, it was me' on WhatsApp in the confirmation " \
                                                  "of their opt-in"
        again = tap("wamid.confirm-2")
        await h.hooks.on_inbound(again)
        assert h.hooks.turn_text(again)[1]["wa_consent_changed"] == []  # the bot thanks them once

    scenario(graph, redis_url, work)
    [logged] = confirmations(redis_url)
    assert (logged["recipient"], logged["scopes"], logged["source"]) == (CUSTOMER, "utility,marketing", "button")


def test_a_tap_never_creates_consent_nor_undoes_an_opt_out(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.hooks.on_inbound(tap("wamid.confirm-nothing"))
        assert (await h.state.snapshot(CUSTOMER)).state.consent.records == {}
        await h.state.record_consent(CUSTOMER, "out", SCOPES, "keyword", "STOP", at=await h.state.now() - H)
        await h.hooks.on_inbound(tap("wamid.confirm-after-stop"))
        records = (await h.state.snapshot(CUSTOMER)).state.consent.records
        assert all(records[s].status == "out" and records[s].confirmed_at is None for s in SCOPES)

    scenario(graph, redis_url, work)
    assert confirmations(redis_url) == []
