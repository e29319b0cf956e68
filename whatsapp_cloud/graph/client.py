"""The one Graph API client: every message the platform sends to WhatsApp goes through here.

`GraphApiClient` is async (the Rasa channel runs on Sanic's event loop and must never block
it); `SyncGraphApiClient` serves the Flask handoff service. Both share request building and
answer parsing, so a payload means the same thing whoever sends it.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import httpx

from whatsapp_cloud.graph.config import CloudApiConfig
from whatsapp_cloud.graph.errors import GraphApiError


@dataclass(frozen=True)
class SendResult:
    wamid: str
    wa_id: Optional[str]
    message_status: Optional[str]  # accepted | held_for_quality_assessment | paused, when Meta says


def text_payload(to: str, body: str, preview_url: bool = False) -> Dict[str, Any]:
    return {
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body, "preview_url": preview_url},
    }


def mark_read_payload(message_id: str, typing_indicator: bool = False) -> Dict[str, Any]:
    payload: Dict[str, Any] = {"status": "read", "message_id": message_id}
    if typing_indicator:
        payload["typing_indicator"] = {"type": "text"}
    return payload


class _GraphApiBase:
    def __init__(self, config: CloudApiConfig) -> None:
        if not config.access_token or not config.phone_number_id:
            raise ValueError("the Graph API client needs an access token and a phone number id")
        self.config = config
        self._headers = {"Authorization": f"Bearer {config.access_token}"}

    @staticmethod
    def _body(payload: Dict[str, Any]) -> Dict[str, Any]:
        return {"messaging_product": "whatsapp", **payload}

    @staticmethod
    def _parse(response: httpx.Response) -> Dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict) or "error" in body:
            raise GraphApiError.from_response(response.status_code, body)
        return body

    @classmethod
    def _send_result(cls, response: httpx.Response) -> SendResult:
        body = cls._parse(response)
        try:
            message = body["messages"][0]
        except (KeyError, IndexError, TypeError) as exc:
            raise GraphApiError("Graph API answered 200 without a message id", http_status=200) from exc
        contacts = body.get("contacts") or [{}]
        return SendResult(message["id"], contacts[0].get("wa_id"), message.get("message_status"))

    def _templates_url(self, waba_id: str) -> str:
        return f"{self.config.api_base_url.rstrip('/')}/{self.config.api_version}/{waba_id}/message_templates"

    def _upload_request(self, content: bytes, mime_type: str, filename: str) -> Dict[str, Any]:
        """POST /{phone-number-id}/media as multipart form data: the file and messaging_product."""
        return {"url": f"{self.config.api_base_url.rstrip('/')}/{self.config.api_version}/"
                       f"{self.config.phone_number_id}/media",
                "data": {"messaging_product": "whatsapp", "type": mime_type},
                "files": {"file": (filename, content, mime_type)}, "headers": self._headers}

    @classmethod
    def _media_id(cls, response: httpx.Response) -> str:
        body = cls._parse(response)
        if not isinstance(body.get("id"), str) or not body["id"]:
            raise GraphApiError("media upload answered 200 without a media id", http_status=200)
        return body["id"]

    def _media_url(self, media_id: str) -> str:
        return f"{self.config.api_base_url.rstrip('/')}/{self.config.api_version}/{media_id}"

    @classmethod
    def _template_page(cls, answer: httpx.Response, found: List[Dict[str, Any]]) -> Optional[str]:
        """Add one page of templates to `found`; the next page's URL, if any (it carries its own cursor)."""
        body = cls._parse(answer)
        if not isinstance(body.get("data"), list):
            raise GraphApiError("message_templates answered without a data list", http_status=answer.status_code)
        found.extend(item for item in body["data"] if isinstance(item, dict))
        return (body.get("paging") or {}).get("next")

    @classmethod
    def _created(cls, answer: httpx.Response) -> Dict[str, Any]:
        """Meta's answer to a new template: {id, status, category} (status PENDING while it reviews)."""
        body = cls._parse(answer)
        if not body.get("id"):
            raise GraphApiError("message_templates answered without the new template's id",
                                http_status=answer.status_code)
        return body

    @staticmethod
    def _network_error(exc: httpx.HTTPError) -> GraphApiError:
        return GraphApiError(f"Graph API unreachable: {exc.__class__.__name__}: {exc}")


class GraphApiClient(_GraphApiBase):
    """Async client with one pooled connection set per process."""

    def __init__(self, config: CloudApiConfig, http: Optional[httpx.AsyncClient] = None) -> None:
        super().__init__(config)
        self._http = http or httpx.AsyncClient(timeout=config.timeout_seconds)

    async def _post(self, payload: Dict[str, Any]) -> httpx.Response:
        try:
            return await self._http.post(
                self.config.messages_url, json=self._body(payload), headers=self._headers
            )
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc

    async def send(self, payload: Dict[str, Any]) -> SendResult:
        return self._send_result(await self._post(payload))

    async def send_text(self, to: str, body: str, preview_url: bool = False) -> SendResult:
        return await self.send(text_payload(to, body, preview_url))

    async def mark_read(self, message_id: str, typing_indicator: bool = False) -> None:
        self._parse(await self._post(mark_read_payload(message_id, typing_indicator)))

    async def media_info(self, media_id: str) -> Dict[str, Any]:
        """Where an inbound media file can be fetched: {url, mime_type, sha256, file_size, id}.
        The url is valid for about 5 minutes."""
        try:
            answer = await self._http.get(self._media_url(media_id), headers=self._headers)
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc
        return self._parse(answer)

    async def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """Upload a file the business sends (image, document); its media id, usable in messages for 30 days."""
        try:
            answer = await self._http.post(**self._upload_request(content, mime_type, filename))
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc
        return self._media_id(answer)

    async def download_media(self, media_id: str) -> Tuple[bytes, str]:
        """The bytes and MIME type of an inbound media file (image, voice note, document, ...)."""
        info = await self.media_info(media_id)
        try:
            answer = await self._http.get(info["url"], headers=self._headers)
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc
        if answer.status_code != 200:
            raise GraphApiError(f"media download answered HTTP {answer.status_code}", http_status=answer.status_code)
        return answer.content, str(info.get("mime_type") or answer.headers.get("content-type", ""))

    async def message_templates(self, waba_id: str, page_size: int = 100) -> List[Dict[str, Any]]:
        """Every message template of the WhatsApp Business Account (GET /{waba-id}/message_templates)."""
        found: List[Dict[str, Any]] = []
        url: Optional[str] = self._templates_url(waba_id)
        params: Optional[Dict[str, Any]] = {"limit": page_size}
        while url:
            try:
                answer = await self._http.get(url, params=params, headers=self._headers)
            except httpx.HTTPError as exc:
                raise self._network_error(exc) from exc
            url, params = self._template_page(answer, found), None
        return found

    async def create_template(self, waba_id: str, request: Dict[str, Any]) -> Dict[str, Any]:
        """Submit a new template for Meta's review (POST /{waba-id}/message_templates): {id, status, category}."""
        try:
            answer = await self._http.post(self._templates_url(waba_id), json=request, headers=self._headers)
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc
        return self._created(answer)

    async def aclose(self) -> None:
        await self._http.aclose()


class SyncGraphApiClient(_GraphApiBase):
    """Blocking twin of `GraphApiClient` for WSGI code."""

    def __init__(self, config: CloudApiConfig, http: Optional[httpx.Client] = None) -> None:
        super().__init__(config)
        self._http = http or httpx.Client(timeout=config.timeout_seconds)

    def _post(self, payload: Dict[str, Any]) -> httpx.Response:
        try:
            return self._http.post(
                self.config.messages_url, json=self._body(payload), headers=self._headers
            )
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc

    def send(self, payload: Dict[str, Any]) -> SendResult:
        return self._send_result(self._post(payload))

    def send_text(self, to: str, body: str, preview_url: bool = False) -> SendResult:
        return self.send(text_payload(to, body, preview_url))

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """Upload a file the business sends (image, document); its media id, usable in messages for 30 days."""
        try:
            answer = self._http.post(**self._upload_request(content, mime_type, filename))
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc
        return self._media_id(answer)

    def message_templates(self, waba_id: str, page_size: int = 100) -> List[Dict[str, Any]]:
        """Every message template of the WhatsApp Business Account (GET /{waba-id}/message_templates)."""
        found: List[Dict[str, Any]] = []
        url: Optional[str] = self._templates_url(waba_id)
        params: Optional[Dict[str, Any]] = {"limit": page_size}
        while url:
            try:
                answer = self._http.get(url, params=params, headers=self._headers)
            except httpx.HTTPError as exc:
                raise self._network_error(exc) from exc
            url, params = self._template_page(answer, found), None
        return found

    def create_template(self, waba_id: str, request: Dict[str, Any]) -> Dict[str, Any]:
        """Submit a new template for Meta's review (POST /{waba-id}/message_templates): {id, status, category}."""
        try:
            answer = self._http.post(self._templates_url(waba_id), json=request, headers=self._headers)
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc
        return self._created(answer)

    def close(self) -> None:
        self._http.close()
