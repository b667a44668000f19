"""Secrets are found by pattern and only ever shown masked."""

from builder.checks.masking import find_secrets, mask, redact, redact_all

AWS_ID = "AKIA" + "Q3EGRXXYZ7EXAMPLE"[:16]
KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
       "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
       "QyNTUxOQAAACBUeXhjRbKxS5uNfake0000000000000000000000000000000000000000\n"
       "-----END OPENSSH PRIVATE KEY-----\n")


def test_the_kinds_of_secret_are_recognised():
    kinds = {hit.kind for hit in find_secrets(
        f"id={AWS_ID}\n{KEY}\ntoken ghp_{'a1' * 18}\n"
        f"aws_secret_access_key = {'wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY'}\n")}
    assert kinds == {"AWS access key id", "private key", "GitHub token", "AWS secret access key"}


def test_ordinary_text_has_no_secrets():
    assert find_secrets("PATH=/usr/bin\nversion 1\nAKIA lower case akiaabcdefghijklmnop") == []


def test_masking_keeps_no_more_than_four_characters():
    assert mask(AWS_ID) == "AKIA***[masked, 20 chars]"
    assert mask("short") == "***[masked, 5 chars]"


def test_redaction_reaches_every_string_of_a_document():
    secrets = {v for hit in find_secrets(f"{AWS_ID}\n{KEY}") for v in hit.values}
    document = {"summary": f"ENV KEY={AWS_ID}", "lines": [KEY], AWS_ID: 3}
    cleaned = redact_all(document, secrets)
    text = repr(cleaned)
    assert AWS_ID not in text and "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" not in text
    assert redact("nothing secret", secrets) == "nothing secret"
