"""Comparing a secret that came in a request header with ours."""

import hmac


def same_secret(given: str, expected: str) -> bool:
    """Constant-time, as bytes: a header may carry any characters, and compare_digest refuses non-ASCII str.

    aiohttp decodes header bytes as UTF-8 with surrogateescape, so encoding back that way restores what was sent.
    """
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))
