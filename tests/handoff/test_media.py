"""Agents send images and documents: the file is checked, uploaded to the stand-in's media endpoint
(POST /{phone-number-id}/media), sent by its media id through the sender and the messaging policy, shown
in the chat, and its copy on disk follows the media directory's retention and erasure."""

import io
from pathlib import Path
from typing import Iterator

import pytest
import requests

from privacy import requests as privacy_requests
from privacy.identity import Subject
from shop.db import engine_for
from tests.handoff.harness import chat_with
from tests.support.handoff_env import Handoff, signed_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n% an invoice\n"
def upload(handoff: Handoff, token: str, chat_id: str, name: str, content: bytes, **form: str) -> requests.Response:
    return handoff.api("POST", f"/api/chats/{chat_id}/media", token, files={"file": (name, io.BytesIO(content))},
                       data=form)


def kept_files(handoff: Handoff) -> list:
    media_dir = Path(handoff.env["MEDIA_DIR"])
    return sorted(p.name for p in media_dir.iterdir()) if media_dir.is_dir() else []


@pytest.fixture()
def handoff(shared_handoff: Handoff) -> Handoff:
    return shared_handoff


@pytest.fixture(autouse=True)
def no_kept_files(handoff: Handoff) -> Iterator[None]:
    yield
    for path in Path(handoff.env["MEDIA_DIR"]).glob("*"):
        path.unlink()


def test_an_image_and_a_document_are_uploaded_sent_by_id_and_shown_in_the_chat(handoff: Handoff, alice: str) -> None:
    token = alice
    customer, chat_id = chat_with(handoff, token)
    image = upload(handoff, token, chat_id, "parcel.png", PNG, caption="Your parcel at the depot")
    assert image.status_code == 201, image.text
    document = upload(handoff, token, chat_id, "invoice 1001.pdf", PDF)
    assert document.status_code == 201, document.text

    sent_image, sent_document = [m["message"] for m in handoff.outbox(customer)]
    assert sent_image["type"] == "image" and sent_image["image"]["caption"] == "Your parcel at the depot"
    assert sent_document["type"] == "document" and sent_document["document"]["filename"] == "invoice 1001.pdf"
    # The ids are the stand-in's own, from its upload endpoint, with the file's type.
    info = requests.get(f"{handoff.standin}/v26.0/{sent_image['image']['id']}",
                        headers={"Authorization": "Bearer standin-token"}, timeout=10).json()
    assert info["mime_type"] == "image/png" and info["file_size"] == len(PNG)

    messages = handoff.api("GET", f"/api/chats/{chat_id}", token).json()["messages"]
    shown = [m for m in messages if m.get("media")]
    assert [(m["media"]["type"], m["text"]) for m in shown] == [
        ("image", "Your parcel at the depot"), ("document", "[document] invoice 1001.pdf")]
    assert shown[0]["wamid"] == image.json()["message"]["wamid"]
    on_disk = Path(handoff.env["MEDIA_DIR"]) / shown[1]["media"]["file"]
    assert on_disk.read_bytes() == PDF and kept_files(handoff) == sorted(m["media"]["file"] for m in shown)


def test_files_whatsapp_would_not_take_are_refused_before_anything_is_uploaded(handoff: Handoff, alice: str) -> None:
    token = alice
    customer, chat_id = chat_with(handoff, token)
    refusals = [
        ("animation.gif", b"GIF89a", 415, "images (jpeg, png)"),
        ("photo.png", b"not really a png", 415, "not a png file"),
        ("huge.jpg", b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), 413, "at most 5 MB"),
        ("empty.pdf", b"", 415, "empty"),
        ("notes.txt", b"\xff\xfe\x00binary", 415, "not plain text"),
    ]
    for name, content, status, why in refusals:
        answer = upload(handoff, token, chat_id, name, content)
        assert answer.status_code == status and why in answer.json()["error"], (name, answer.text)
    no_file = handoff.api("POST", f"/api/chats/{chat_id}/media", token, data={"caption": "hi"})
    assert no_file.status_code == 400 and "'file'" in no_file.json()["error"]
    assert handoff.outbox(customer) == [] and kept_files(handoff) == []
    assert not [m for m in handoff.service.chats.messages(chat_id) if m["kind"] == "agent"]


def test_a_file_above_the_usual_body_limit_is_taken_on_the_media_route_only(handoff: Handoff, alice: str) -> None:
    token = alice
    _customer, chat_id = chat_with(handoff, token)
    large_pdf = PDF + b"0" * (3 * 1024 * 1024)  # over HANDOFF_MAX_CONTENT_LENGTH (1 MB), under Meta's 100 MB
    assert upload(handoff, token, chat_id, "catalogue.pdf", large_pdf).status_code == 201
    text = handoff.api("POST", f"/api/chats/{chat_id}/messages", token, json={"text": "x" * 2 * 1024 * 1024})
    assert text.status_code == 413
    # Without credentials the larger limit does not apply: the API refuses before reading, the inbox form unread.
    for path, status in ((f"/api/chats/{chat_id}/media", 401), (f"/inbox/chats/{chat_id}/media", 413)):
        stranger = requests.post(handoff.url + path, files={"file": ("catalogue.pdf", io.BytesIO(large_pdf))},
                                 timeout=10)
        assert stranger.status_code == status, path


def test_outside_the_service_window_the_policy_refuses_and_nothing_is_uploaded(handoff: Handoff, alice: str) -> None:
    token = alice
    customer, chat_id = chat_with(handoff, token, customer_wrote=False)
    answer = upload(handoff, token, chat_id, "parcel.png", PNG)
    assert answer.status_code == 422 and "service window is closed" in answer.json()["error"]
    assert handoff.outbox(customer) == [] and kept_files(handoff) == []


def test_graph_errors_on_upload_are_reported_and_a_retry_sends_once(handoff: Handoff, alice: str) -> None:
    token = alice
    customer, chat_id = chat_with(handoff, token)
    faults = [{"http_status": 500}, {"http_status": 400, "code": 131053, "message": "Media upload error"}]
    requests.post(f"{handoff.standin}/_standin/faults", json=faults, timeout=10)
    for expected in ("http=500", "code=131053"):
        answer = upload(handoff, token, chat_id, "parcel.png", PNG, client_key="media-key-0001")
        assert answer.status_code == 502 and "did not take the file" in answer.json()["error"], answer.text
        assert expected in answer.json()["error"]
    assert handoff.outbox(customer) == [] and kept_files(handoff) == []
    first = upload(handoff, token, chat_id, "parcel.png", PNG, client_key="media-key-0001")
    again = upload(handoff, token, chat_id, "parcel.png", PNG, client_key="media-key-0001")
    assert first.status_code == again.status_code == 201
    assert first.json()["message"]["wamid"] == again.json()["message"]["wamid"]
    assert len(handoff.outbox(customer)) == 1 and len(kept_files(handoff)) == 1


def test_an_erasure_deletes_the_sent_files_and_the_inbox_serves_them_only_to_who_sees_the_chat(
        handoff: Handoff, alice: str) -> None:
    token = alice
    customer, chat_id = chat_with(handoff, token)
    sent = upload(handoff, token, chat_id, "parcel.png", PNG).json()["message"]
    name = sent["media"]["file"]
    browser = requests.Session()
    alice, _csrf = signed_in(handoff, "alice")
    shown = alice.get(f"{handoff.url}/inbox/chats/{chat_id}/media/{name}", timeout=10)
    assert shown.status_code == 200 and shown.content == PNG and shown.headers["Content-Type"] == "image/png"
    rita, _csrf = signed_in(handoff, "rita")  # refunds only: not her team's chat
    assert rita.get(f"{handoff.url}/inbox/chats/{chat_id}/media/{name}", timeout=10).status_code == 404
    assert alice.get(f"{handoff.url}/inbox/chats/{chat_id}/media/../app.db", timeout=10).status_code == 404
    assert browser.get(f"{handoff.url}/inbox/chats/{chat_id}/media/{name}", timeout=10).url.endswith(
        f"/login?next=/inbox/chats/{chat_id}/media/{name}")

    handoff.api("POST", f"/api/chats/{chat_id}/resolve", token, json={"resolution": "sent the photo"})
    svc = handoff.service
    stores = privacy_requests.Stores(redis=svc.redis, shop=engine_for(handoff.env["DATABASE_URL"], seed=False),
                                     media_dir=Path(handoff.env["MEDIA_DIR"]), policy=svc.messenger.policy_config)
    subject = Subject.of(customer, svc.messenger.policy_config.hash_key)
    assert [f["name"] for f in privacy_requests.export(stores, subject)["media"]] == [name]
    receipt = privacy_requests.erase(stores, subject, by="test", rewrite_aof=False)
    assert receipt["media"] == {"files deleted": 1} and kept_files(handoff) == []
