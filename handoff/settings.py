"""The handoff service's settings, read once from the environment (resolved by stack/settings.py)."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Tuple
from urllib.parse import urlparse

from analytics.config import AnalyticsConfig
from stack import components
from stack.age_limits import AgeLimits
from stack.office_hours import OfficeHours
from stack.setting_values import ConfigError, flag, listed
from whatsapp_cloud.policy.consent import SCOPES
from whatsapp_cloud.retention import Retention

ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


@dataclass(frozen=True)
class OptInSettings:
    """The public opt-in page: what its checkbox says, where it may be embedded, how often it may be used."""

    business: str = components.DEFAULT_BUSINESS_NAME
    message_kinds: str = "order updates and offers"
    privacy_policy_url: str = ""  # "": the page is not offered (it must link the business's policy)
    scopes: Tuple[str, ...] = SCOPES
    frame_ancestors: Tuple[str, ...] = ()  # origins allowed to embed it besides its own
    limit: str = "5 per hour"  # sign-ups per client address and per phone number

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "OptInSettings":
        privacy = (env.get("OPT_IN_PRIVACY_POLICY_URL") or "").strip()
        if privacy and urlparse(privacy).scheme not in ("http", "https"):
            raise ConfigError(f"OPT_IN_PRIVACY_POLICY_URL={privacy!r} must be an http(s) address")
        scopes = listed(env, "OPT_IN_SCOPES", SCOPES)
        if not set(scopes) <= set(SCOPES):
            raise ConfigError(f"OPT_IN_SCOPES={env.get('OPT_IN_SCOPES')!r} may only name {', '.join(SCOPES)}")
        origins = listed(env, "OPT_IN_FRAME_ANCESTORS", ())
        for origin in origins:  # an origin only: anything else could smuggle directives into the header
            if not ORIGIN.fullmatch(origin):
                raise ConfigError(f"OPT_IN_FRAME_ANCESTORS: {origin!r} is not an origin like https://shop.example.com")
        return cls(business=components.business_name(env),
                   message_kinds=(env.get("OPT_IN_MESSAGE_KINDS") or cls.message_kinds).strip(),
                   privacy_policy_url=privacy, scopes=scopes, frame_ancestors=origins,
                   limit=env.get("OPT_IN_LIMIT") or cls.limit)


@dataclass(frozen=True)
class HandoffSettings:
    redis_url: str
    api_token: str
    secret_key: str
    rasa_url: str
    rasa_token: str
    office_hours: OfficeHours
    first_response_seconds: float = 120.0
    next_response_seconds: float = 300.0
    handle_seconds: float = 300.0  # average handling time until the team has its own measure
    presence_seconds: float = 180.0  # an online agent not seen for this long goes away; their chats wait again
    background: bool = True  # assignment, SLA and hand-back retries in a thread of each worker
    public_url: str = ""  # where agents open the inbox; https makes the session cookie Secure by default
    cookie_secure: bool = False
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For/-Proto are believed
    max_content_length: int = 1024 * 1024
    login_limit: str = "10 per minute"  # failed sign-ins, per account and per client address
    handback_max_age: float = 3 * 3600.0  # a goodbye later than this after the resolve is dropped, not sent
    retention_seconds: int = 30 * 86400  # resolved chats, their messages and customers' histories
    event_stream_max: int = Retention().event_stream_max  # wa:events, as every writer trims it
    analytics: AnalyticsConfig = AnalyticsConfig()
    database_url: str = ""  # the shop's database, where the CSAT ratings are ("": none)
    media_dir: Path = Path("var/media")  # invoice files: an erasure deletes the customer's
    age_limits: AgeLimits = AgeLimits()  # what the retention sweep keeps (privacy/sweep.py)
    opt_in: OptInSettings = OptInSettings()
    templates_in_window: bool = False  # agents may send templates inside the service window too (they cost)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "HandoffSettings":
        for required in ("REDIS_URL", "HANDOFF_API_TOKEN", "HANDOFF_SECRET_KEY"):
            if not env.get(required):
                raise RuntimeError(f"the handoff service needs {required} (make run generates it into var/local.env)")
        public_url = (env.get("HANDOFF_PUBLIC_URL") or "").strip()
        return cls(
            redis_url=env["REDIS_URL"],
            api_token=env["HANDOFF_API_TOKEN"],
            secret_key=env["HANDOFF_SECRET_KEY"],
            rasa_url=env.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
            rasa_token=env.get("RASA_API_TOKEN", ""),
            office_hours=components.office_hours(env),
            first_response_seconds=float(env.get("HANDOFF_SLA_FIRST_RESPONSE_SECONDS") or 120),
            next_response_seconds=float(env.get("HANDOFF_SLA_NEXT_RESPONSE_SECONDS") or 300),
            handle_seconds=float(env.get("HANDOFF_HANDLE_SECONDS") or 300),
            presence_seconds=float(env.get("HANDOFF_PRESENCE_SECONDS") or 180),
            background=flag(env.get("HANDOFF_BACKGROUND"), True, "HANDOFF_BACKGROUND"),
            public_url=public_url,
            cookie_secure=flag(env.get("HANDOFF_COOKIE_SECURE"), public_url.startswith("https://"),
                               "HANDOFF_COOKIE_SECURE"),
            trusted_proxies=int(env.get("HANDOFF_TRUSTED_PROXIES") or 0),
            max_content_length=int(env.get("HANDOFF_MAX_CONTENT_LENGTH") or 1024 * 1024),
            login_limit=env.get("HANDOFF_LOGIN_LIMIT") or "10 per minute",
            handback_max_age=float(env.get("HANDOFF_HANDBACK_MAX_AGE_SECONDS") or 3 * 3600),
            retention_seconds=components.age_limits(env).transcripts,
            event_stream_max=components.retention(env).event_stream_max,
            analytics=AnalyticsConfig.from_env(env),
            database_url=components.database_url(env),
            media_dir=components.media_dir(env),
            age_limits=components.age_limits(env),
            opt_in=OptInSettings.from_env(env),
            templates_in_window=flag(env.get("HANDOFF_TEMPLATES_IN_WINDOW"), False, "HANDOFF_TEMPLATES_IN_WINDOW"),
        )
