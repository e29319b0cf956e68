"""The policy's Redis state: shared by async (Rasa) and sync (Flask) code, durable, with a test clock."""

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.consent import ActionOptIn, ActionOptOut
from stack import components, settings
from stack.setting_values import ConfigError
from tests.support.redis_process import RedisProcess
from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.consent import OPT_IN_PAYLOAD, SCOPES, Keywords
from whatsapp_cloud.policy.store import PolicyStore, SyncPolicyStore

CUSTOMER = "15551230001"
H = timedelta(hours=1)


def test_sync_and_async_code_share_one_state(redis_url):
    sync = SyncPolicyStore(redis_connection.blocking(redis_url), PolicyConfig())
    now = sync.now()
    sync.record_inbound(CUSTOMER, now - 2 * H, from_referral=True)
    assert sync.record_consent(CUSTOMER, "in", SCOPES, "paper", "Signed form #88") == SCOPES

    async def read():
        connection = redis_connection.asyncio(redis_url)
        try:
            return await PolicyStore(connection, PolicyConfig()).snapshot(CUSTOMER)
        finally:
            await connection.close()

    snapshot = asyncio.run(read())
    assert snapshot.state.windows.service_until == now + 22 * H
    assert snapshot.state.windows.referral_reply_by == now + 22 * H
    record = snapshot.state.consent.records["utility"]
    assert (record.status, record.source, record.wording) == ("in", "paper", "Signed form #88")


def test_consent_is_idempotent_and_every_change_is_in_the_ledger(redis_url):
    store = SyncPolicyStore(redis_connection.blocking(redis_url), PolicyConfig())
    assert store.record_consent(CUSTOMER, "in", SCOPES, "website", "Tick box on the account page") == SCOPES
    assert store.record_consent(CUSTOMER, "in", SCOPES, "website", "again") == ()
    assert store.record_consent(CUSTOMER, "out", ("marketing",), "keyword", "STOP") == ("marketing",)
    log = redis_connection.blocking(redis_url, decode_responses=True).xrange(redis_keys.CONSENT_LOG)
    assert [(e["status"], e["scopes"], e["source"]) for _, e in log] == [
        ("in", "utility,marketing", "website"), ("out", "marketing", "keyword")]


def test_the_clock_offset_is_read_only_when_the_test_clock_is_on(redis_url):
    connection = redis_connection.blocking(redis_url)
    testing = SyncPolicyStore(connection, PolicyConfig(test_clock=True))
    real = SyncPolicyStore(connection, PolicyConfig())
    testing.set_clock_offset(30 * 3600)
    assert testing.now() - real.now() > 29 * H


def test_deferred_messages_survive_a_redis_restart(tmp_path: Path):
    server = RedisProcess(tmp_path / "redis").start()
    try:
        config = PolicyConfig()

        async def defer() -> None:
            connection = redis_connection.asyncio(server.url)
            await PolicyStore(connection, config).defer(CUSTOMER, {"payload": {"type": "text"}, "key": "k"}, False)
            await connection.close()

        asyncio.run(defer())
        server.stop()
        server.start()
        waiting = SyncPolicyStore(server.client(), config).deferred(CUSTOMER)
        assert [{k: v for k, v in item.items() if k != "ts"} for item in waiting] == [
            {"payload": {"type": "text"}, "key": "k"}]
    finally:
        server.stop()




def test_policy_settings_come_from_the_environment_and_bad_values_are_refused():
    config = components.policy_config({
        "WHATSAPP_MESSAGING_LIMIT_TIER": "unlimited", "WHATSAPP_SERVICE_WINDOW_HOURS": "2",
        "WHATSAPP_OPT_OUT_STRICT": "false", "WHATSAPP_OPT_OUT_KEYWORDS": "HALT, ALTO"})
    assert config.tier is None and config.windows.service == 2 * H
    assert not config.rules.opted_out_blocks_all_templates
    assert config.keywords.intent_for("alto") == "/opt_out" and config.keywords.intent_for("STOP") is None
    with pytest.raises(ConfigError, match="WHATSAPP_MESSAGING_LIMIT_TIER"):
        components.policy_config({"WHATSAPP_MESSAGING_LIMIT_TIER": "1000"})
    with pytest.raises(ConfigError, match="WHATSAPP_FREE_ENTRY_WINDOW_HOURS"):
        components.policy_config({"WHATSAPP_FREE_ENTRY_WINDOW_HOURS": "soon"})
    with pytest.raises(settings.ConfigError, match="WHATSAPP_MESSAGING_LIMIT_TIER"):
        settings.resolve({"WHATSAPP_MESSAGING_LIMIT_TIER": "lots", "VAR_DIR": "/tmp/policy-settings-test",
                          "ENV_FILE": "/nonexistent"})


def test_keywords_match_exact_messages_only():
    keywords = components.keywords({})
    assert keywords == Keywords()
    assert keywords.intent_for("Stop") == "/opt_out"
    assert keywords.intent_for("stop it, the parcel is wrong") is None
    assert keywords.intent_for("STOP", message_type="image") is None


@pytest.fixture()
def actions_env(redis_url, monkeypatch) -> str:
    monkeypatch.setenv("REDIS_URL", redis_url)  # as the action server has it
    return redis_url


def run_action(action, metadata=None, text="/opt_out"):
    """Whether the action found the consent changed (the rule's confirmation is sent only then)."""
    tracker = Tracker(CUSTOMER, {}, {"intent": {"name": text.lstrip("/")}, "text": text,
                                     "metadata": metadata or {}}, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    assert dispatcher.messages == []  # the rule's response confirms, not the action
    [changed] = [e["value"] for e in events if e.get("name") == "consent_changed"]
    return changed


def test_opt_out_action_records_and_confirms_once_opt_in_lifts_it(actions_env):
    redis_url = actions_env
    assert run_action(ActionOptOut()) is True
    assert run_action(ActionOptOut()) is False  # a second STOP: no second confirmation
    store = SyncPolicyStore(redis_connection.blocking(redis_url), PolicyConfig())
    consent = store.snapshot(CUSTOMER).state.consent
    assert all(consent.opted_out(s) and consent.records[s].source == "whatsapp_thread" for s in SCOPES)
    # START typed by the customer a little later: the channel records it, the action confirms.
    changed = store.record_consent(CUSTOMER, "in", SCOPES, "keyword", "START", at=store.now() + timedelta(seconds=2))
    assert run_action(ActionOptIn(), {"wa_consent_changed": list(changed)}, text="/opt_in") is True
    assert store.snapshot(CUSTOMER).state.consent.opted_in("marketing")


def test_an_opt_in_guessed_by_the_nlu_only_asks_a_clear_question(actions_env):
    store = SyncPolicyStore(redis_connection.blocking(actions_env), PolicyConfig())
    store.record_consent(CUSTOMER, "out", SCOPES, "keyword", "STOP")
    tracker = Tracker(CUSTOMER, {}, {"intent": {"name": "opt_in"}, "text": "ok send me stuff again",
                                     "metadata": {}}, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionOptIn().run(dispatcher, tracker, {}))
    assert [e["value"] for e in events if e.get("name") == "consent_changed"] == [False]
    assert store.snapshot(CUSTOMER).state.consent.opted_out("marketing")  # nothing recorded on a guess
    [question] = dispatcher.messages
    assert "Harbour Home Goods" in question["text"] and "order updates and offers" in question["text"]
    assert [b["payload"] for b in question["buttons"]] == [OPT_IN_PAYLOAD, "/deny"]
    # Tapping "yes" is the explicit act: the channel reads the payload as an opt-in.
    assert Keywords().intent_for(OPT_IN_PAYLOAD, "interactive") == "/opt_in"
    assert Keywords().intent_for(OPT_IN_PAYLOAD, "text") is None  # typed, it is only text


def test_the_actions_record_with_the_time_the_customer_wrote(actions_env):
    store = SyncPolicyStore(redis_connection.blocking(actions_env), PolicyConfig())
    wrote = store.now() - 2 * H
    store.record_consent(CUSTOMER, "in", SCOPES, "keyword", "START", at=wrote + H)  # a newer opt-in
    # An opt-out understood by the NLU, from a message redelivered late: older than the opt-in, it loses.
    assert run_action(ActionOptOut(), {"wa_timestamp": int(wrote.timestamp())}) is False
    consent = store.snapshot(CUSTOMER).state.consent
    assert consent.opted_in("marketing") and consent.records["marketing"].source == "keyword"


def test_opt_out_recorded_by_the_channel_is_still_confirmed_once(actions_env):
    redis_url = actions_env
    store = SyncPolicyStore(redis_connection.blocking(redis_url), PolicyConfig())
    changed = store.record_consent(CUSTOMER, "out", SCOPES, "keyword", "STOP")
    metadata = {"wa_consent_changed": list(changed), "wa_consent_text": "STOP"}
    assert run_action(ActionOptOut(), metadata) is True


def test_consent_action_without_redis_says_what_is_missing(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    tracker = Tracker(CUSTOMER, {}, {"text": "/opt_out", "metadata": {}}, [], False, None, {}, "action_listen")
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        asyncio.run(ActionOptOut().run(CollectingDispatcher(), tracker, {}))


def test_blocking_code_asks_the_same_decision(redis_url):
    from whatsapp_cloud.policy.decision import Action
    from whatsapp_cloud.policy.gate import SyncPolicyCheck

    connection = redis_connection.blocking(redis_url)
    check = SyncPolicyCheck(connection, PolicyConfig())
    text = {"to": CUSTOMER, "type": "text", "text": {"body": "Hi, Anna from support here"}}
    assert check.plan(CUSTOMER, text).action == Action.DEFER  # never wrote: no free text
    store = SyncPolicyStore(connection, PolicyConfig())
    store.record_inbound(CUSTOMER, store.now() - 2 * H, from_referral=False)
    assert check.plan(CUSTOMER, text).action == Action.SEND_SESSION
    followup = {"template": check.registry.build("handoff_followup", "en_US", {"agent_name": "Anna"})}
    store.record_inbound("15550009999", store.now() - 30 * H, from_referral=False)
    decision = check.plan("15550009999", {**text, "to": "15550009999"}, followup)
    assert decision.action == Action.DEFER and "no utility opt-in" in decision.reason


def test_the_action_server_registers_both_consent_actions():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("bot.actions")
    assert {"action_opt_out", "action_opt_in"} <= set(executor.actions)


def test_consent_collected_elsewhere_is_recorded_from_the_command_line(redis_url, redis_proc, monkeypatch, tmp_path,
                                                                      capsys):
    from tools import record_consent

    # Beside a cluster, Rasa's stores need a plain Redis of their own (the command does not use it).
    for name, value in {"REDIS_URL": redis_url, "RASA_REDIS_URL": redis_proc.url, "VAR_DIR": str(tmp_path),
                        "ENV_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    assert record_consent.main(["in", "15550007777", "--source", "ivr", "--scope", "utility",
                                "--wording", "Press 1 to get order updates on WhatsApp"]) == 0
    assert "opted in for utility" in capsys.readouterr().out
    assert record_consent.main(["in", "15550007777", "--source", "ivr", "--scope", "utility",
                                "--wording", "again"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    record_consent.main(["show", "15550007777"])
    assert "utility: in since" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        record_consent.main(["in", "15550007777", "--source", "paper"])  # no wording
    assert "--wording" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        record_consent.main(["in", "+1 555", "--wording", "x"])
