"""The customer's windows: the policy store's record is the live one; the cost ledger's replayable copy agrees.

The ledger keeps the engine's own account of the windows (its charges must follow from the pricing log
alone; whatsapp_cloud/pricing/cost_ledger.py says why). These tests fail if the two could tell different
stories: every entry point that moves one moves the other the same way, and what the agent inbox shows
is the policy's record.
"""

from datetime import timedelta
from typing import Iterator

import pytest

from tests.support.handoff_env import Handoff, running_handoff
from tests.support.policy_harness import CUSTOMER, PHONE_ID, Harness, message, scenario, text
from whatsapp_cloud.policy.windows import Windows
from whatsapp_cloud.webhooks import inbound

H = timedelta(hours=1)


async def both(h: Harness) -> Windows:
    """The windows as the policy store and the cost ledger hold them, once they agree."""
    live = (await h.state.snapshot(CUSTOMER)).state.windows
    assert (await h.sender.costs.state(CUSTOMER)).windows == live
    return live


def test_every_entry_point_moves_both_records_the_same_way(graph, redis_url):
    async def work(h: Harness) -> None:
        now = await h.state.now()
        assert await both(h) == Windows()
        # A customer writes from an ad, two hours ago: the service window and the referral reply deadline.
        h.app.test_client().post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "ad"})
        await h.hooks.on_inbound(message("I saw your ad", hours_ago=2, referral=True, now=now.timestamp()))
        windows = await both(h)
        assert windows.service_open(now) and windows.referral_reply_pending(now)
        # The business answers: the reply opens the free entry point window and spends the deadline.
        delivery = await h.sender.deliver(text("Welcome! How can I help?"))
        assert delivery.result is not None
        windows = await both(h)
        assert windows.free_entry_open(now + 71 * H) and not windows.referral_reply_pending(now)
        # Meta's own end of the free entry point conversation, from a status webhook, wins in both.
        expires = int((now + 60 * H).timestamp())
        await h.hooks.on_status(inbound.StatusUpdate(
            delivery.result.wamid, "delivered", int(now.timestamp()), CUSTOMER, PHONE_ID,
            pricing={"billable": False, "pricing_model": "PMP", "type": "free_entry_point",
                     "category": "service"},
            conversation={"id": "c1", "expiration_timestamp": str(expires),
                          "origin": {"type": "referral_conversion"}}))
        assert (await both(h)).free_entry_until.timestamp() == expires
        # The customer writes again: the service window moves on, nothing moves back.
        await h.hooks.on_inbound(message("thanks", now=now.timestamp()))
        windows = await both(h)
        assert windows.service_until.timestamp() == int(now.timestamp()) + 24 * 3600
        # A late webhook of an older message moves neither.
        await h.hooks.on_inbound(message("an old one", hours_ago=5, now=now.timestamp()))
        assert await both(h) == windows

    scenario(graph, redis_url, work)


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with running_handoff(redis_url) as running:
        yield running


def test_the_inbox_pricing_panel_shows_the_policys_window(handoff: Handoff) -> None:
    # The customer's message reached the policy's record only (e.g. pricing could not record it): the
    # composer and the pricing panel must still agree that the window is open.
    handoff.policy.record_inbound(CUSTOMER, handoff.policy.now() - H, from_referral=False)
    messenger = handoff.service.messenger
    assert messenger.cost_ledger.state(CUSTOMER).windows == Windows()  # the ledger never heard of it
    window = messenger.window(CUSTOMER)
    panel = messenger.conversations(CUSTOMER)
    assert window.mode == "session"
    assert panel["service_window"]["open"] is True
    assert panel["service_window"]["until"] == handoff.policy.snapshot(CUSTOMER).state.windows.service_until.isoformat()
    assert panel["next_message"]["free_form"]["allowed"] is True
