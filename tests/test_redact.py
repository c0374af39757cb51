"""Credentials are taken out of text before it is stored or shown."""

from __future__ import annotations

import pytest

from services.redact import REDACTED, scrub

KEY = "sk-proj-" + "a1B2" * 10


@pytest.mark.parametrize(
    "text",
    [
        f"Incorrect API key provided: {KEY}. You can find your API key at ...",
        "Authorization: Bearer abc.DEF-123_456~xyz",
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl expired",
        'request failed: {"api_key": "m0nk3y-s3cret-value"}',
        "https://example.invalid/v1?access_token=QWERTY123456&x=1",
        "AWS said: AKIAIOSFODNN7EXAMPLE is not authorised",
    ],
)
def test_shapes_of_credentials_are_redacted(text: str) -> None:
    scrubbed = scrub(text, environ={})
    assert REDACTED in scrubbed
    for secret in (
        KEY,
        "abc.DEF-123_456~xyz",
        "c2lnbmF0dXJl",
        "m0nk3y-s3cret-value",
        "QWERTY123456",
        "AKIAIOSFODNN7EXAMPLE",
    ):
        assert secret not in scrubbed


def test_the_value_of_a_secret_variable_is_redacted_whatever_its_shape() -> None:
    environ = {"ANTHROPIC_API_KEY": "plainwords-but-secret", "HOME": "/root/somewhere-long"}
    scrubbed = scrub("the key plainwords-but-secret was refused for /root/somewhere-long", environ)
    assert scrubbed == f"the key {REDACTED} was refused for /root/somewhere-long"


def test_ordinary_text_is_left_alone() -> None:
    text = "The finance service is unavailable: connection refused (task-queue finance-task-queue)"
    assert scrub(text, environ={"SHORT_KEY": "abc"}) == text


def test_a_secret_inside_another_is_not_left_half_visible() -> None:
    environ = {"SHORT_API_KEY": "abcdefgh12", "LONG_API_KEY": "abcdefgh12-and-more-secret"}
    assert scrub("key abcdefgh12-and-more-secret refused", environ) == f"key {REDACTED} refused"
