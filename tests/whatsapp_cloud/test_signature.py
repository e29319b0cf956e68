import hashlib
import hmac
import json

from whatsapp_cloud.webhooks import signature

BODY = json.dumps({"text": "Olá, ação ✓"}).encode()  # escaped unicode, as Meta sends it


def test_sign_matches_meta_definition() -> None:
    expected = "sha256=" + hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    assert signature.sign(BODY, "s3cret") == expected


def test_valid_signature_is_accepted() -> None:
    assert signature.is_valid(BODY, signature.sign(BODY, "s3cret"), ["s3cret"])


def test_wrong_secret_tampered_body_and_missing_header_are_rejected() -> None:
    good = signature.sign(BODY, "s3cret")
    assert not signature.is_valid(BODY, signature.sign(BODY, "other"), ["s3cret"])
    assert not signature.is_valid(BODY + b" ", good, ["s3cret"])
    assert not signature.is_valid(BODY, None, ["s3cret"])
    assert not signature.is_valid(BODY, good.removeprefix("sha256="), ["s3cret"])
    assert not signature.is_valid(BODY, "sha1=" + good[7:], ["s3cret"])


def test_either_secret_is_accepted_during_rotation() -> None:
    secrets = ["new-secret", "old-secret"]
    assert signature.is_valid(BODY, signature.sign(BODY, "old-secret"), secrets)
    assert signature.is_valid(BODY, signature.sign(BODY, "new-secret"), secrets)
    assert not signature.is_valid(BODY, signature.sign(BODY, "older"), secrets)


def test_empty_secret_never_validates() -> None:
    assert not signature.is_valid(BODY, signature.sign(BODY, ""), [""])
