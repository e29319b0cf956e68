"""Click-to-chat links: the prefilled text's rules, the API and the inbox page over HTTP with a real Redis, and
QR codes that a real decoder (zxing-cpp) reads back as the link."""

import io
from urllib.parse import parse_qs, urlparse

import pytest
import zxingcpp
from PIL import Image

from campaigns import entry_links, qr_codes
from campaigns.entry_links import MAX_PREFILLED, InvalidLink
from tests.support.handoff_env import PASSWORD, running_handoff, signed_in

NUMBER = "12025550100"


def decoded(png: bytes) -> list:
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_the_prefilled_text_ends_with_its_reference_and_is_at_most_140_characters():
    made = entry_links.link_text("  poster   in the shop ", "Hi! Tell me about the sale", "K7Q2MX")
    assert made.prefilled == "Hi! Tell me about the sale (ref K7Q2MX)" and made.source == "poster in the shop"
    longest = "x" * (MAX_PREFILLED - len(" (ref K7Q2MX)"))
    assert len(entry_links.link_text("web", longest, "K7Q2MX").prefilled) == MAX_PREFILLED
    with pytest.raises(InvalidLink, match=f"'text' may have {len(longest)}, it has {len(longest) + 1}"):
        entry_links.link_text("web", longest + "x", "K7Q2MX")
    for source, text in (("", "hi"), ("web", "  "), ("w" * 81, "hi")):
        with pytest.raises(InvalidLink):
            entry_links.link_text(source, text, "K7Q2MX")


def test_the_link_carries_the_number_and_the_text_url_encoded():
    link = entry_links.url(NUMBER, "Hi & hello? 50% off (ref K7Q2MX)")
    parsed = urlparse(link)
    assert (parsed.scheme, parsed.netloc, parsed.path) == ("https", "wa.me", f"/{NUMBER}")
    assert parse_qs(parsed.query) == {"text": ["Hi & hello? 50% off (ref K7Q2MX)"]}
    with pytest.raises(InvalidLink):
        entry_links.url("+1 202", "hi")


def test_a_reference_is_found_in_an_edited_message_and_nothing_else_is_taken_for_one():
    assert entry_links.reference_in("Hi! Tell me about the sale (ref K7Q2MX)") == "K7Q2MX"
    assert entry_links.reference_in("hello, ref: k7q2mx, thanks") == "K7Q2MX"
    assert entry_links.reference_in("ref K7Q2MX2") is None  # a longer word is no reference
    assert entry_links.reference_in("my order ref 1001") is None
    assert entry_links.reference_in("refund K7Q2MX") is None
    assert entry_links.reference_in(None) is None
    references = {entry_links.new_reference() for _ in range(200)}
    assert len(references) == 200 and all(entry_links.reference_in(f"(ref {r})") == r for r in references)


def test_a_qr_code_decodes_to_its_link_png_and_svg():
    link = entry_links.url(NUMBER, entry_links.link_text("web", "y" * 120, "K7Q2MX").prefilled)
    assert decoded(qr_codes.png(link)) == [link]
    svg = qr_codes.svg(link)
    assert svg.startswith(b"<svg") and b"<path" in svg and svg.rstrip().endswith(b"</svg>")
    assert decoded(qr_codes.png("https://wa.me/1")) != [link]  # the decoder reads what is there


def test_admins_make_and_list_links_with_qr_codes_through_the_api(redis_url):
    with running_handoff(redis_url, WHATSAPP_DISPLAY_PHONE_NUMBER="+1 202-555-0100") as handoff:
        handoff.agents.create("ada", PASSWORD, name="Ada", role="admin", teams=("general",))
        ada, sam = handoff.login("ada"), handoff.login("sam")
        body = {"source": "poster in the shop", "text": "Hi! Tell me about the sale"}
        made = handoff.api("POST", "/api/entry-links", ada, json=body)
        assert made.status_code == 201, made.text
        link = made.json()["link"]
        assert link["url"].startswith(f"https://wa.me/{NUMBER}?text=Hi%21%20Tell%20me")
        assert link["prefilled"] == f"Hi! Tell me about the sale (ref {link['ref']})"
        assert (link["created_by"], link["arrivals"]) == ("ada", 0)
        assert handoff.api("GET", "/api/entry-links", ada).json()["links"] == [link]
        assert handoff.api("GET", f"/api/entry-links/{link['ref'].lower()}", ada).json()["link"] == link

        png = handoff.api("GET", f"/api/entry-links/{link['ref']}/qr.png", ada)
        assert png.headers["Content-Type"] == "image/png" and decoded(png.content) == [link["url"]]
        svg = handoff.api("GET", f"/api/entry-links/{link['ref']}/qr.svg", ada)
        assert svg.headers["Content-Type"].startswith("image/svg+xml") and svg.content.startswith(b"<svg")

        too_long = handoff.api("POST", "/api/entry-links", ada, json={**body, "text": "z" * 140})
        assert too_long.status_code == 400 and "at most 140" in too_long.json()["error"]
        assert handoff.api("GET", "/api/entry-links/AAAAAA", ada).status_code == 404
        assert handoff.api("GET", f"/api/entry-links/{link['ref']}/qr.gif", ada).status_code == 404
        # Supervisors, agents and the integration token may not make or list them.
        assert handoff.api("POST", "/api/entry-links", sam, json=body).status_code == 403
        assert handoff.api("GET", "/api/entry-links", sam).status_code == 403
        assert handoff.api("GET", "/api/entry-links").status_code == 403
        assert handoff.api("GET", f"/api/entry-links/{link['ref']}/qr.png", sam).status_code == 403


def test_without_a_business_number_no_link_is_made(redis_url):
    with running_handoff(redis_url) as handoff:
        handoff.agents.create("ada", PASSWORD, name="Ada", role="admin", teams=("general",))
        answer = handoff.api("POST", "/api/entry-links", handoff.login("ada"), json={"source": "web", "text": "hi"})
        assert answer.status_code == 409 and "WHATSAPP_DISPLAY_PHONE_NUMBER" in answer.json()["error"]


def test_the_inbox_page_makes_lists_and_downloads_links_for_admins_only(redis_url):
    with running_handoff(redis_url, WHATSAPP_DISPLAY_PHONE_NUMBER=NUMBER) as handoff:
        handoff.agents.create("ada", PASSWORD, name="Ada", role="admin", teams=("general",))
        browser, token = signed_in(handoff, "ada")
        form = {"source": "flyer <b>", "text": "Hello from the flyer"}
        refused = browser.post(handoff.url + "/inbox/links", data=form, timeout=10)
        assert refused.status_code == 400  # no CSRF token
        assert handoff.api("GET", "/api/entry-links", handoff.login("ada")).json()["links"] == []

        page = browser.post(handoff.url + "/inbox/links", data={**form, "csrf_token": token}, timeout=10)
        assert page.status_code == 200 and "flyer &lt;b&gt;" in page.text and "flyer <b>" not in page.text
        (link,) = handoff.api("GET", "/api/entry-links", handoff.login("ada")).json()["links"]
        assert f'id="link-{link["ref"]}"' in page.text
        download = browser.get(f"{handoff.url}/inbox/links/{link['ref']}.png", timeout=10)
        assert "attachment" in download.headers["Content-Disposition"] and decoded(download.content) == [link["url"]]
        assert browser.get(f"{handoff.url}/inbox/links/{link['ref']}.svg", timeout=10).content.startswith(b"<svg")

        too_long = browser.post(handoff.url + "/inbox/links", timeout=10,
                                data={"source": "web", "text": "w" * 140, "csrf_token": token})
        assert "No link made" in too_long.text and 'value="' + "w" * 140 in too_long.text

        sam, _ = signed_in(handoff, "sam")
        assert sam.get(handoff.url + "/inbox/links", timeout=10).status_code == 403
        assert sam.get(f"{handoff.url}/inbox/links/{link['ref']}.png", timeout=10).status_code == 403
        assert 'href="/inbox/links"' in browser.get(handoff.url + "/inbox", timeout=10).text
        assert 'href="/inbox/links"' not in sam.get(handoff.url + "/inbox", timeout=10).text
