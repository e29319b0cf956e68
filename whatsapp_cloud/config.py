"""Cloud API connection settings, read from the environment in one place."""

import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

DEFAULT_API_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v26.0"


@dataclass(frozen=True)
class CloudApiConfig:
    access_token: str
    phone_number_id: str
    api_base_url: str = DEFAULT_API_BASE_URL
    api_version: str = DEFAULT_API_VERSION
    # Webhook side: the handshake token and the secrets that sign POSTs (current first;
    # a second one is accepted while an app secret is being rotated).
    verify_token: str = ""
    app_secrets: Tuple[str, ...] = field(default_factory=tuple)
    timeout_seconds: float = 10.0

    @property
    def messages_url(self) -> str:
        return f"{self.api_base_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}/messages"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "CloudApiConfig":
        env = os.environ if environ is None else environ
        secrets = (env.get("WHATSAPP_APP_SECRET", ""), env.get("WHATSAPP_APP_SECRET_PREVIOUS", ""))
        return cls(
            access_token=env.get("WHATSAPP_ACCESS_TOKEN", ""),
            phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
            api_base_url=env.get("WHATSAPP_API_BASE_URL") or DEFAULT_API_BASE_URL,
            api_version=env.get("WHATSAPP_API_VERSION") or DEFAULT_API_VERSION,
            verify_token=env.get("WHATSAPP_VERIFY_TOKEN", ""),
            app_secrets=tuple(s for s in secrets if s),
        )
