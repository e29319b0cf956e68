"""Cloud API connection settings (filled from credentials.yml by the channel)."""

from dataclasses import dataclass, field
from typing import Tuple

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
