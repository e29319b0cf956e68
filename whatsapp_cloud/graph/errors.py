"""Graph API errors, classified once for every caller."""

from typing import Any, Dict, Optional

# Codes Meta asks callers to retry with backoff (throughput, pair rate, transient faults).
RETRYABLE_CODES = frozenset({4, 80007, 130429, 131000, 131016, 131056, 131057})


class GraphApiError(Exception):
    """An error answer (or no answer) from the Graph API."""

    def __init__(
        self,
        message: str,
        code: Optional[int] = None,
        http_status: Optional[int] = None,
        details: Optional[str] = None,
        fbtrace_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.details = details
        self.fbtrace_id = fbtrace_id

    @property
    def retryable(self) -> bool:
        if self.code is not None:
            return self.code in RETRYABLE_CODES
        # No Meta error code: a network fault or a 5xx without a body is worth another try.
        return self.http_status is None or self.http_status >= 500

    @classmethod
    def from_response(cls, http_status: int, body: Any) -> "GraphApiError":
        error: Dict[str, Any] = body.get("error", {}) if isinstance(body, dict) else {}
        return cls(
            message=error.get("message") or f"Graph API answered HTTP {http_status}",
            code=error.get("code"),
            http_status=http_status,
            details=(error.get("error_data") or {}).get("details"),
            fbtrace_id=error.get("fbtrace_id"),
        )

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        if self.details:
            parts.append(self.details)
        return " | ".join(parts)
