"""Secrets are found by pattern and only ever shown masked."""

import zlib

from builder.checks.masking import find_secrets
from builder.checks.secretshapes import BASE62_ALPHABETS, base62

AWS_ID = "AKIA" + "Q3EGRXXYZ7EXAMPLE"[:16]
KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
       "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
       "QyNTUxOQAAACBUeXhjRbKxS5uNfake0000000000000000000000000000000000000000\n"
       "-----END OPENSSH PRIVATE KEY-----\n")

BODY = "Xq7" * 10
TOKEN = f"ghp_{BODY}{base62(zlib.crc32(BODY.encode()), BASE62_ALPHABETS[0]).decode()}"


def test_the_kinds_of_secret_are_recognised():
    kinds = {hit.kind for hit in find_secrets(
        f"id={AWS_ID}\n{KEY}\ntoken {TOKEN}\n"
        f"aws_secret_access_key = {'wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY'}\n")}
    assert kinds == {"AWS access key id", "private key", "GitHub token", "AWS secret access key"}


def test_ordinary_text_has_no_secrets():
    assert find_secrets("PATH=/usr/bin\nversion 1\nAKIA lower case akiaabcdefghijklmnop") == []


def test_what_tls_libraries_carry_is_not_a_key():
    strings = (b"-----BEGIN RSA PRIVATE KEY-----\0-----END RSA PRIVATE KEY-----\0"
               b"-----BEGIN %s PRIVATE KEY-----\n%s\n-----END %s PRIVATE KEY-----\n"
               b"-----BEGIN PRIVATE KEY-----\nnot base64 at all, only words of a test.\n"
               b"-----END PRIVATE KEY-----\n"
               b"-----BEGIN EC PRIVATE KEY-----\n" + b"A" * 64 + b"\n-----END EC PRIVATE KEY-----")
    assert find_secrets(strings, verify=True) == []


def test_a_token_with_a_wrong_checksum_is_not_a_token_to_the_gate_but_still_masked():
    wrong = f"ghp_{BODY}AAAAAA ghp_{'a1' * 18}"
    assert find_secrets(wrong, verify=True) == []
    assert [h.kind for h in find_secrets(f"x={TOKEN};", verify=True)] == ["GitHub token"]
    assert len(find_secrets(wrong)) == 2  # the log masker hides what merely looks like one
