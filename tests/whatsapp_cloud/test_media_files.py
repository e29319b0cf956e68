"""Which files may be sent as WhatsApp media (Meta's types and sizes), decided from name and content."""

import re

import pytest

from whatsapp_cloud.outbound.media_files import MB, UnsupportedMedia, media_payload, media_type

JPEG, PNG, PDF, ZIP, OLE = b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"%PDF-1.7", b"PK\x03\x04", \
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@pytest.mark.parametrize("name,content,kind,mime", [
    ("photo.JPG", JPEG, "image", "image/jpeg"), ("shot.png", PNG, "image", "image/png"),
    ("invoice.pdf", PDF, "document", "application/pdf"), ("sheet.xlsx", ZIP, "document",
                                                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("old.doc", OLE, "document", "application/msword"), ("notes.txt", "grüße\n".encode(), "document", "text/plain"),
])
def test_images_and_documents_meta_accepts(name: str, content: bytes, kind: str, mime: str) -> None:
    found = media_type(name, content + b"\x00" * 10)
    assert (found.kind, found.mime_type) == (kind, mime)


@pytest.mark.parametrize("name,content,too_large,why", [
    ("clip.gif", b"GIF89a", False, "images (jpeg, png)"), ("noext", PDF, False, "images (jpeg, png)"),
    ("fake.png", JPEG, False, "not a png file"), ("fake.docx", PDF, False, "not a docx file"),
    ("empty.pdf", b"", False, "empty"), ("bin.txt", b"\xff\xfe\x00", False, "not plain text"),
    ("big.png", PNG + b"\x00" * (5 * MB), True, "at most 5 MB"),
])
def test_other_files_are_refused_saying_why(name: str, content: bytes, too_large: bool, why: str) -> None:
    with pytest.raises(UnsupportedMedia, match=re.escape(why)) as caught:
        media_type(name, content)
    assert caught.value.too_large is too_large


def test_a_document_is_sent_with_its_file_name_an_image_without() -> None:
    assert media_payload("155", "document", "42", "", "a.pdf")["document"] == {"id": "42", "filename": "a.pdf"}
    assert media_payload("155", "image", "43", "look", "a.png")["image"] == {"id": "43", "caption": "look"}
