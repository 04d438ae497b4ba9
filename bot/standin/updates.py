"""Bot API methods on updates: getUpdates, the webhook, and delivering updates to it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.standin.records import NOT_BY_DEFAULT, ApiCall, ApiError
from bot.standin.state import StandInState


class UpdateMethods(StandInState):
    """How pushed updates reach the bot: by long polling, or posted to a webhook."""

    async def _get_updates(self, p: dict[str, Any], c: ApiCall) -> list[dict[str, Any]]:
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")  # fmt: skip
        self.polls_started += 1
        while p.get("offset") and self._pending and self._pending[0]["update_id"] < p["offset"]:
            self._pending.popleft()
        if "allowed_updates" in p:  # kept until given again, as Telegram does
            self.allowed_updates = frozenset(p["allowed_updates"]) or None
        self._notify()  # settle() waits for these confirmations, not for the poll to end
        deadline = time.monotonic() + min(float(p.get("timeout") or 0), 50.0)
        while True:
            changed = self._changed
            remaining = deadline - time.monotonic()
            self._drop_unwanted()
            if self._pending or self._closing or remaining <= 0:
                return list(itertools.islice(self._pending, min(max(p.get("limit") or 100, 1), 100)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _set_webhook(self, p: dict[str, Any], c: ApiCall) -> bool:
        if not p.get("url"):
            return self._delete_webhook(p, c)
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {"url": p["url"], "secret_token": p.get("secret_token")}
        if "allowed_updates" in p:
            self.allowed_updates = frozenset(p["allowed_updates"]) or None
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver())
        return True

    def _drop_unwanted(self) -> None:
        """Updates of a type the bot did not ask for are never delivered (allowed_updates)."""

        def wanted(update: dict[str, Any]) -> bool:
            kind = next(key for key in update if key != "update_id")
            return kind not in NOT_BY_DEFAULT if self.allowed_updates is None else kind in self.allowed_updates

        if not all(wanted(update) for update in self._pending):
            self._pending = deque(update for update in self._pending if wanted(update))
            self._notify()

    def _delete_webhook(self, p: dict[str, Any], c: ApiCall) -> bool:
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {}
        return True

    def _webhook_info(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        info = {"url": self.webhook.get("url", ""), "has_custom_certificate": False}
        return info | {"pending_update_count": len(self._pending)}

    async def _deliver(self) -> None:
        async with ClientSession(timeout=ClientTimeout(total=10)) as http:
            while self.webhook and not self._closing:
                changed = self._changed
                self._drop_unwanted()
                if not self._pending:
                    await changed.wait()
                    continue
                update, secret = self._pending[0], self.webhook.get("secret_token")
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                try:
                    async with http.post(self.webhook["url"], json=update, headers=headers) as resp:
                        delivered = resp.status < 300
                except (ClientError, OSError, TimeoutError):
                    delivered = False
                if delivered and self._pending and self._pending[0] is update:
                    self._pending.popleft()
                    self._notify()
                elif not delivered:
                    await asyncio.sleep(0.2)  # Telegram retries failed deliveries, so do we (faster)
