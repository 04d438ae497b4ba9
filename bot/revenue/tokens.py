"""Signed student tokens: a checkout link we give a student carries one, and the school's payment brings it back.

A token reads `1.<student>.<enrollment>.<expires>.<offer>.<signature>`: ids in decimal (the enrollment and the
offer may be empty), the expiry in Unix seconds, and the first 16 bytes of an HMAC-SHA256 under API_SECRET,
base64url. About 60 characters, all URL-safe, so it fits a query parameter as it is. The signed text is
prefixed with its purpose, so no other signature made with API_SECRET (the API's request signatures) passes
for a token.
"""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

VERSION = "1"
PURPOSE = b"journeybot student token\x00"
DEFAULT_TTL = timedelta(days=30)  # a checkout link may be opened weeks after the offer
MAX_ID = 2**63 - 1  # BIGINT
OFFER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOKEN = re.compile(
    r"1\.(?P<student>[1-9][0-9]{0,18})\.(?P<enrollment>[1-9][0-9]{0,18})?\.(?P<expires>[1-9][0-9]{0,11})"
    r"\.(?P<offer>[A-Za-z0-9_-]{0,64})\.(?P<signature>[A-Za-z0-9_-]{22})"
)


@dataclass(frozen=True)
class StudentToken:
    student_id: int
    expires_at: datetime
    enrollment_id: int | None = None
    offer_id: str | None = None


class BadToken(Exception):
    """Not a token we signed, or no longer valid; the message says which, for the 422."""


class StudentTokens:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("student tokens need API_SECRET")
        self._key = secret.encode()

    def issue(
        self,
        student_id: int,
        *,
        now: datetime,
        ttl: timedelta = DEFAULT_TTL,
        enrollment_id: int | None = None,
        offer_id: str | None = None,
    ) -> str:
        for value in (student_id, enrollment_id):
            if value is not None and not 1 <= value <= MAX_ID:
                raise ValueError(f"not a row id: {value}")
        if offer_id is not None and not OFFER_ID.fullmatch(offer_id):
            raise ValueError("an offer id is 1-64 characters of A-Z, a-z, 0-9, _ and -")
        if ttl <= timedelta(0):
            raise ValueError("a token's lifetime is positive")
        expires = int((now + ttl).timestamp())
        body = f"{VERSION}.{student_id}.{enrollment_id or ''}.{expires}.{offer_id or ''}"
        return f"{body}.{self._sign(body)}"

    def read(self, token: str, now: datetime) -> StudentToken:
        parts = TOKEN.fullmatch(token) if len(token) <= 200 else None
        if parts is None:
            raise BadToken("not a student token")
        body = token.rsplit(".", 1)[0]
        if not hmac.compare_digest(parts["signature"], self._sign(body)):  # both ASCII: the pattern says so
            raise BadToken("bad signature")
        student, enrollment = int(parts["student"]), parts["enrollment"]
        if student > MAX_ID or (enrollment and int(enrollment) > MAX_ID):
            raise BadToken("not a student token")
        expires_at = datetime.fromtimestamp(int(parts["expires"]), UTC)
        if expires_at <= now:
            raise BadToken("expired")
        return StudentToken(
            student_id=student,
            expires_at=expires_at,
            enrollment_id=int(enrollment) if enrollment else None,
            offer_id=parts["offer"] or None,
        )

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._key, PURPOSE + body.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
