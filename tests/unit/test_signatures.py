"""GitHub-style HMAC-SHA256 signatures, checked against GitHub's published vector."""

import pytest

from webhooks.signatures import verify_hex_sha256, verify_prefixed_sha256

SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_published_vector_verifies():
    assert verify_prefixed_sha256(SECRET, BODY, SIGNATURE)


def test_uppercase_hex_is_the_same_signature():
    assert verify_prefixed_sha256(SECRET, BODY, "sha256=" + SIGNATURE[7:].upper())


@pytest.mark.parametrize("body", [b"Hello, World?", b"hello, World!", b"Hello, World!\n"])
def test_a_changed_body_is_rejected(body):
    assert not verify_prefixed_sha256(SECRET, body, SIGNATURE)


def test_a_flipped_signature_byte_is_rejected():
    flipped = SIGNATURE[:-1] + ("0" if SIGNATURE[-1] != "0" else "1")
    assert not verify_prefixed_sha256(SECRET, BODY, flipped)


@pytest.mark.parametrize("header", [
    "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",  # the SHA-1 header GitHub also sends
    "sha512=" + SIGNATURE[7:],
    SIGNATURE[7:],  # no prefix
    "SHA256=" + SIGNATURE[7:],
    SIGNATURE[:-2],  # truncated
    SIGNATURE + "00",
    "sha256=",
    "",
    None,
])
def test_wrong_algorithm_prefix_or_length_is_rejected(header):
    assert not verify_prefixed_sha256(SECRET, BODY, header)


def test_wrong_secret_is_rejected():
    assert not verify_prefixed_sha256("another secret", BODY, SIGNATURE)


def test_bare_hex_form_verifies_and_rejects_non_hex():
    assert verify_hex_sha256(SECRET, BODY, SIGNATURE[7:])
    assert not verify_hex_sha256(SECRET, BODY, "z" * 64)
