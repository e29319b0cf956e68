"""Which files a business may send as WhatsApp media, and the message that sends an uploaded one.

Meta's limits for outbound media (README "Sending media"): images jpeg or png up to 5 MB; documents
pdf, Office formats and plain text up to 100 MB. The kind is decided from the file's name and checked
against its first bytes, so a renamed file is refused here rather than by Meta after the upload.
Video, audio and stickers are left out: agents send pictures and documents.
"""

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

MB = 1024 * 1024
CAPTION_MAX = 1024  # Meta's limit for image and document captions

_JPEG, _PNG, _PDF = (b"\xff\xd8\xff",), (b"\x89PNG\r\n\x1a\n",), (b"%PDF-",)
_ZIP, _OLE = (b"PK\x03\x04",), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)


@dataclass(frozen=True)
class MediaType:
    kind: str  # the message type: image | document
    mime_type: str
    max_bytes: int
    magic: Tuple[bytes, ...] = ()  # the file starts with one of these (none: plain text)


# By file extension (lower case, without the dot).
MEDIA_TYPES: Dict[str, MediaType] = {
    "jpg": MediaType("image", "image/jpeg", 5 * MB, _JPEG),
    "jpeg": MediaType("image", "image/jpeg", 5 * MB, _JPEG),
    "png": MediaType("image", "image/png", 5 * MB, _PNG),
    "pdf": MediaType("document", "application/pdf", 100 * MB, _PDF),
    "doc": MediaType("document", "application/msword", 100 * MB, _OLE),
    "xls": MediaType("document", "application/vnd.ms-excel", 100 * MB, _OLE),
    "ppt": MediaType("document", "application/vnd.ms-powerpoint", 100 * MB, _OLE),
    "docx": MediaType("document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                      100 * MB, _ZIP),
    "xlsx": MediaType("document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      100 * MB, _ZIP),
    "pptx": MediaType("document", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                      100 * MB, _ZIP),
    "txt": MediaType("document", "text/plain", 100 * MB),
}
LARGEST = max(t.max_bytes for t in MEDIA_TYPES.values())


class UnsupportedMedia(ValueError):
    """A file WhatsApp would not take; `too_large` tells a size refusal from a type refusal."""

    def __init__(self, message: str, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def media_type(filename: str, content: bytes) -> MediaType:
    """The kind of media a file is sent as, or UnsupportedMedia saying why it cannot be sent."""
    found = MEDIA_TYPES.get(extension(filename))
    if found is None:
        raise UnsupportedMedia(f"{filename or 'the file'}: WhatsApp takes images (jpeg, png) and documents "
                               f"({', '.join(e for e, t in MEDIA_TYPES.items() if t.kind == 'document')})")
    if not content:
        raise UnsupportedMedia(f"{filename} is empty")
    if len(content) > found.max_bytes:
        raise UnsupportedMedia(f"{filename} is {len(content) / MB:.1f} MB; WhatsApp takes {found.kind}s of at most "
                               f"{found.max_bytes // MB} MB", too_large=True)
    if found.magic and not content.startswith(found.magic):
        raise UnsupportedMedia(f"{filename} is not a {extension(filename)} file (its content says otherwise)")
    if not found.magic:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise UnsupportedMedia(f"{filename} is not plain text (UTF-8)") from None
    return found


def media_payload(to: str, kind: str, media_id: str, caption: str = "",
                  filename: Optional[str] = None) -> Dict[str, Any]:
    """An image or document message that sends an uploaded file by its media id."""
    body: Dict[str, Any] = {"id": media_id}
    if caption:
        body["caption"] = caption
    if kind == "document" and filename:
        body["filename"] = filename
    return {"recipient_type": "individual", "to": to, "type": kind, kind: body}
