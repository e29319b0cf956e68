"""The shared components, built from the settings: the one place that turns the resolved environment
(stack/settings.py) into the WhatsApp library's configuration, the outbound governor and the shop.

Libraries receive values; the bot's channel, its action server, the handoff service and the operator
commands call these functions instead of reading the environment themselves.
"""

import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from redis import asyncio as aioredis

from shop.db import DEFAULT_DATABASE_URL, engine_for
from shop.service import Shop
from stack.age_limits import AgeLimits
from stack.office_hours import OfficeHours
from stack.setting_values import ConfigError, count, flag, hours, listed, phone_number, seconds
from whatsapp_cloud import pseudonyms, redis_connection
from whatsapp_cloud.events.log import EventLog
from whatsapp_cloud.graph.client import GraphApiClient, SyncGraphApiClient
from whatsapp_cloud.graph.config import DEFAULT_API_BASE_URL, DEFAULT_API_VERSION, CloudApiConfig
from whatsapp_cloud.outbound.delivery_status import DeliveryStatus
from whatsapp_cloud.outbound.sender import OutboundSender, SenderSettings
from whatsapp_cloud.policy import consent
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.decision import TIERS, PolicyRules
from whatsapp_cloud.policy.gate import PolicyGate
from whatsapp_cloud.policy.template_submissions import TemplateSubmissions
from whatsapp_cloud.policy.templates import TemplateRegistry
from whatsapp_cloud.policy.windows import WindowConfig
from whatsapp_cloud.pricing import engine, rate_card
from whatsapp_cloud.pricing.cost_ledger import CostLedger
from whatsapp_cloud.retention import DAY, HOUR, Retention

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUSINESS_NAME = "Harbour Home Goods"
Env = Mapping[str, str]


def environment() -> Env:
    """The process's settings: stack/run.py starts every process with the resolved environment."""
    return os.environ


def redis_client(env: Optional[Env] = None, url: str = "", **options: Any) -> redis_connection.Blocking:
    """The platform's Redis for blocking code (REDIS_URL: a single server or, with `redis+cluster://`, a
    cluster; TLS with `rediss://`, checked against REDIS_TLS_CA when set), or `url` when given. `options` as
    redis-py takes them."""
    env = environment() if env is None else env
    return redis_connection.blocking(url or env["REDIS_URL"], tls_ca=env.get("REDIS_TLS_CA", ""), **options)


def async_redis_client(env: Optional[Env] = None, url: str = "", **options: Any) -> redis_connection.Async:
    """The same Redis for asyncio code (the bot's channel and actions, the intake, the campaign worker)."""
    env = environment() if env is None else env
    return redis_connection.asyncio(url or env["REDIS_URL"], tls_ca=env.get("REDIS_TLS_CA", ""), **options)


def rate_limit_storage(env: Optional[Env] = None, url: str = "") -> Tuple[str, Dict[str, Any]]:
    """Flask-Limiter's storage URI and options. The `limits` library names Sentinel as REDIS_URL does
    (`redis+sentinel://`) but has no `rediss+` form: that becomes the plain scheme with TLS as an option,
    checked against REDIS_TLS_CA like the rest. For a cluster, the version Flask-Limiter pins needs the
    unmaintained redis-py-cluster package: beside a cluster the counters (short-lived, per address) keep to
    the plain Redis of RASA_REDIS_URL, which settings require then."""
    env = environment() if env is None else env
    url = url or env["REDIS_URL"]
    if redis_connection.is_cluster_url(url):
        url = env["RASA_REDIS_URL"]
    scheme, _, rest = url.partition("://")
    tls = scheme.startswith("rediss")
    options: Dict[str, Any] = {}
    if tls and "+" in scheme:
        scheme = scheme.replace("rediss", "redis", 1)
        options["ssl"] = True
    if tls and env.get("REDIS_TLS_CA"):
        options["ssl_ca_certs"] = env["REDIS_TLS_CA"]
    return f"{scheme}://{rest}", options


def retention(env: Optional[Env] = None) -> Retention:
    env = environment() if env is None else env
    return Retention(
        event_stream_max=count(env, "WHATSAPP_EVENTS_MAXLEN", Retention.event_stream_max),
        webhook_stream_max=count(env, "WHATSAPP_WEBHOOK_STREAM_MAXLEN", Retention.webhook_stream_max),
        dead_letters_max=count(env, "WHATSAPP_DEAD_LETTERS_MAXLEN", Retention.dead_letters_max),
        consent_log_max=count(env, "WHATSAPP_CONSENT_LOG_MAXLEN", Retention.consent_log_max),
        pricing_log_max=count(env, "WHATSAPP_PRICING_LOG_MAXLEN", Retention.pricing_log_max),
        pricing_state_seconds=seconds(env, "WHATSAPP_PRICING_STATE_DAYS", DAY, Retention.pricing_state_seconds),
        windows_grace_seconds=seconds(env, "WHATSAPP_WINDOWS_KEEP_HOURS", HOUR, Retention.windows_grace_seconds),
        deferred_max_age_seconds=seconds(env, "WHATSAPP_DEFERRED_MAX_AGE_HOURS", HOUR,
                                         Retention.deferred_max_age_seconds),
    )


def age_limits(env: Optional[Env] = None) -> AgeLimits:
    """The retention sweep's limits; RASA_TRACKER_EXPIRY_DAYS and HANDOFF_RETENTION_DAYS also set expiries."""
    env = environment() if env is None else env
    return AgeLimits(
        trackers=seconds(env, "RASA_TRACKER_EXPIRY_DAYS", DAY, AgeLimits.trackers),
        transcripts=seconds(env, "HANDOFF_RETENTION_DAYS", DAY, AgeLimits.transcripts),
        events=seconds(env, "WHATSAPP_EVENTS_RETENTION_DAYS", DAY, AgeLimits.events),
        delivery_records=seconds(env, "WHATSAPP_DELIVERY_RECORDS_DAYS", DAY, AgeLimits.delivery_records),
        media=seconds(env, "MEDIA_RETENTION_DAYS", DAY, AgeLimits.media),
        sweep_every=seconds(env, "RETENTION_SWEEP_MINUTES", 60, AgeLimits.sweep_every),
    )


def keywords(env: Env) -> consent.Keywords:
    return consent.Keywords(
        opt_out=listed(env, "WHATSAPP_OPT_OUT_KEYWORDS", consent.DEFAULT_OPT_OUT_KEYWORDS),
        opt_in=listed(env, "WHATSAPP_OPT_IN_KEYWORDS", consent.DEFAULT_OPT_IN_KEYWORDS),
        opt_out_payloads=listed(env, "WHATSAPP_OPT_OUT_PAYLOADS", consent.DEFAULT_OPT_OUT_PAYLOADS),
    )


def policy_config(env: Optional[Env] = None) -> PolicyConfig:
    env = environment() if env is None else env
    tier_name = (env.get("WHATSAPP_MESSAGING_LIMIT_TIER") or "250").strip().lower()
    if tier_name not in TIERS:
        raise ConfigError(f"WHATSAPP_MESSAGING_LIMIT_TIER={tier_name!r}: use one of {', '.join(TIERS)}")
    return PolicyConfig(
        windows=WindowConfig(
            service=hours(env, "WHATSAPP_SERVICE_WINDOW_HOURS", 24),
            free_entry=hours(env, "WHATSAPP_FREE_ENTRY_WINDOW_HOURS", 72),
            free_entry_reply_deadline=hours(env, "WHATSAPP_FREE_ENTRY_REPLY_HOURS", 24),
        ),
        rules=PolicyRules(opted_out_blocks_all_templates=flag(
            env.get("WHATSAPP_OPT_OUT_STRICT"), True, "WHATSAPP_OPT_OUT_STRICT")),
        tier=TIERS[tier_name],
        keywords=keywords(env),
        templates_file=Path(env.get("WHATSAPP_TEMPLATES_FILE") or ROOT / "whatsapp_templates.yml"),
        fallbacks_file=Path(env.get("WHATSAPP_TEMPLATE_FALLBACKS_FILE") or ROOT / "template_fallbacks.yml"),
        default_language=env.get("WHATSAPP_TEMPLATE_LANGUAGE") or "en_US",
        test_clock=flag(env.get("WHATSAPP_TEST_CLOCK"), False, "WHATSAPP_TEST_CLOCK"),
        phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
        retention=retention(env),
        hash_key=privacy_hash_key(env),
    )


def privacy_hash_key(env: Optional[Env] = None) -> str:
    """Keys the hashes that outlive an erased customer (suppression list, receipts). Never rotate it: the
    suppression list would no longer recognise anyone on it."""
    env = environment() if env is None else env
    return env.get("PRIVACY_HASH_KEY", "")


def privacy_erase_on_request(env: Optional[Env] = None) -> bool:
    """Whether a customer's "delete my data" in the chat is carried out without an administrator (after the
    bot's last reply, privacy/queued_erasures.py) instead of becoming a ticket."""
    env = environment() if env is None else env
    return flag(env.get("PRIVACY_ERASE_ON_REQUEST"), False, "PRIVACY_ERASE_ON_REQUEST")


def pricing(env: Optional[Env] = None) -> Tuple[engine.PricingConfig, rate_card.RateCard]:
    """The deployment's pricing model and rate card; a bad value raises PricingInputError or RateCardError."""
    env = environment() if env is None else env
    model = (env.get("WHATSAPP_PRICING_MODEL") or engine.PMP).strip().upper()
    card = env.get("WHATSAPP_RATE_CARD") or rate_card.DEFAULT_PATH
    return engine.PricingConfig(model=model), rate_card.RateCard.load(card)


def cloud_api_config(env: Optional[Env] = None) -> CloudApiConfig:
    """The Graph API account the handoff service and the operator commands send and read with."""
    env = environment() if env is None else env
    return CloudApiConfig(
        access_token=env.get("WHATSAPP_ACCESS_TOKEN", ""),
        phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
        api_base_url=env.get("WHATSAPP_API_BASE_URL") or DEFAULT_API_BASE_URL,
        api_version=env.get("WHATSAPP_API_VERSION") or DEFAULT_API_VERSION,
    )


def outbound_sender(client: GraphApiClient, store: aioredis.Redis, env: Optional[Env] = None,
                    settings: Optional[SenderSettings] = None, statuses: Optional[DeliveryStatus] = None,
                    events: Optional[EventLog] = None, registry: Optional[TemplateRegistry] = None,
                    config: Optional[PolicyConfig] = None) -> OutboundSender:
    """The one outbound governor, with the deployment's policy, retention and pricing."""
    env = environment() if env is None else env
    config = config or policy_config(env)
    events = events or EventLog(store, max_length=config.retention.event_stream_max)
    return OutboundSender(client, store, settings, statuses, events,
                          policy=PolicyGate(store, config, registry, events=events),
                          costs=CostLedger(store, *pricing(env), retention=config.retention))


def template_submissions(store: Any, env: Optional[Env] = None) -> TemplateSubmissions:
    """Templates created from the app (blocking Redis `store`): submitted to the configured WABA
    (`WHATSAPP_WABA_ID`), written to the registry file once Meta approves them."""
    env = environment() if env is None else env
    config = cloud_api_config(env)
    client = SyncGraphApiClient(config) if config.access_token and config.phone_number_id else None
    return TemplateSubmissions(store, policy_config(env).templates_file, client, env.get("WHATSAPP_WABA_ID", ""))


def business_name(env: Optional[Env] = None) -> str:
    """The business named to customers (opt-in wording, invoices)."""
    env = environment() if env is None else env
    return env.get("SHOP_NAME") or DEFAULT_BUSINESS_NAME


def display_phone_number(env: Optional[Env] = None) -> str:
    """The business number customers write to, digits only (click-to-chat links); "" when not configured."""
    env = environment() if env is None else env
    return phone_number(env, "WHATSAPP_DISPLAY_PHONE_NUMBER")


def customer_ref(wa_id: str) -> str:
    """A customer's keyed pseudonym for logs."""
    return pseudonyms.customer_ref(wa_id, environment().get("HANDOFF_SECRET_KEY", ""))


def scrub(text: str) -> str:
    return pseudonyms.scrub(text, environment().get("HANDOFF_SECRET_KEY", ""))


def office_hours(env: Optional[Env] = None) -> OfficeHours:
    """When agents work (HANDOFF_OFFICE_HOURS in HANDOFF_TIMEZONE): routing and response times use them."""
    env = environment() if env is None else env
    return OfficeHours.parse(env.get("HANDOFF_OFFICE_HOURS") or "mon-sun 00:00-24:00",
                             env.get("HANDOFF_TIMEZONE") or "UTC")


def database_url(env: Optional[Env] = None) -> str:
    env = environment() if env is None else env
    return env.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def media_dir(env: Optional[Env] = None) -> Path:
    """Where generated files the bot sends by link (invoices) are written and served from."""
    env = environment() if env is None else env
    return Path(env.get("MEDIA_DIR") or "var/media")


def public_media_url(env: Optional[Env] = None) -> str:
    """The public address of the media directory: Meta fetches the files from here."""
    env = environment() if env is None else env
    explicit = env.get("PUBLIC_MEDIA_URL")
    if explicit:
        return explicit.rstrip("/")
    return f"{(env.get('RASA_URL') or 'http://127.0.0.1:5005').rstrip('/')}/webhooks/whatsapp/media"


def shop(env: Optional[Env] = None) -> Shop:
    """The order database; demo orders are added to an empty one unless SHOP_DEMO_DATA is false."""
    env = environment() if env is None else env
    return Shop(engine_for(database_url(env), seed=flag(env.get("SHOP_DEMO_DATA"), True, "SHOP_DEMO_DATA")))
