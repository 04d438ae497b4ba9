"""Signed "Learn more" links: /r/<token> on the bot's HTTP server records the click and redirects to the offer's
link, which is read from the journey at click time (the token names the enrollment and the offer, never a URL,
so nobody can make the bot redirect elsewhere).

A token reads `<enrollment>.<offer>.<signature>`: the first 12 bytes of an HMAC-SHA256 under the bot's secret,
base64url, prefixed with its purpose so that no other signature made with that secret passes for it.
"""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

PURPOSE = b"journeybot offer click\x00"
REDIRECT_PATH = "/r/"
TOKEN = re.compile(
    r"(?P<enrollment>[1-9][0-9]{0,9})\.(?P<offer>[a-z0-9][a-z0-9_-]{0,63})\.(?P<signature>[A-Za-z0-9_-]{16})"
)
INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class Click:
    enrollment_id: int
    offer_id: str


class ClickLinks:
    def __init__(self, secret: str, public_url: str | None) -> None:
        self._key = secret.encode()
        self.base = public_url.rstrip("/") if public_url else None

    def learn_more(self, enrollment_id: int, offer_id: str, target: str) -> str:
        """The URL a "Learn more" button opens: the redirect when the bot has a public address, else the site."""
        if self.base is None:
            return target
        body = f"{enrollment_id}.{offer_id}"
        return f"{self.base}{REDIRECT_PATH}{body}.{self._sign(body)}"

    def read(self, token: str) -> Click | None:
        parts = TOKEN.fullmatch(token) if len(token) <= 120 else None
        if parts is None:
            return None
        body = token.rsplit(".", 1)[0]
        if not hmac.compare_digest(parts["signature"], self._sign(body)):
            return None
        enrollment = int(parts["enrollment"])
        return Click(enrollment, parts["offer"]) if enrollment <= INT_MAX else None

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._key, PURPOSE + body.encode(), hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(digest).decode()


def with_student_token(checkout_url: str, token: str) -> str:
    """The school's checkout page with the signed student token, so its payment comes back attributed."""
    joiner = "&" if urlsplit(checkout_url).query else "?"
    return f"{checkout_url}{joiner}{urlencode({'student_token': token})}"
