"""A simulated person who talks to the bot through the stand-in, the way a tester would in Telegram."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.standin.records import JoinResult, StoredMessage
    from bot.standin.server import BotAPIStandIn


class FakeUser:
    def __init__(self, server: BotAPIStandIn, info: dict[str, Any]) -> None:
        self.server = server
        self.info = info
        self.id: int = info["id"]
        self.first_name: str = info["first_name"]
        self._cursor = server.seq  # messages with a higher seq are "new" to this person

    def __repr__(self) -> str:
        return f"<FakeUser {self.id} {self.first_name}>"

    @property
    def messages(self) -> list[StoredMessage]:
        return [m for m in self.server.messages_in(self.id) if m.from_bot and not m.deleted]

    @property
    def last(self) -> StoredMessage | None:
        return self.messages[-1] if self.messages else None

    def new_messages(self) -> list[StoredMessage]:
        return [m for m in self.messages if m.seq > self._cursor]

    async def send(self, text: str, *, chat_id: int | None = None, **kwargs: Any) -> dict[str, Any]:
        return await self._act(text=text, chat_id=chat_id, **kwargs)

    async def send_photo(self, data: bytes = b"\xff\xd8 fake jpeg", caption: str | None = None) -> dict[str, Any]:
        return await self._act(photo=data, caption=caption)

    async def send_document(
        self, data: bytes, filename: str = "document.pdf", caption: str | None = None
    ) -> dict[str, Any]:
        return await self._act(document=(filename, data), caption=caption)

    async def open_invite(self, link: str, *, bio: str | None = None) -> JoinResult:
        """Opens an invite link (see BotAPIStandIn.open_invite) and waits for the bot to take what it caused."""
        self._cursor = self.server.seq
        result = self.server.open_invite(self, link, bio=bio)
        await self._settle()
        return result

    async def click(self, *args: Any) -> str | None:
        """click("Done") or click(message, "Done"); returns the callback answer text the person saw."""
        *where, text = args
        message, button = self._find_button(text, where[0] if where else None)
        self._cursor = self.server.seq
        if "url" in button:
            self.server._emit(f"{self.first_name} ⟶ opens {button['url']}")
            return None
        if "callback_data" not in button:  # a reply-keyboard button just sends its text
            await self.send(button["text"])
            return None
        # the press happens where the message is: a private chat, or a group the person is in
        callback_id = self.server.push_callback(
            self, message.message_id, message.chat_id, button["callback_data"], button_text=button["text"]
        )
        await self._settle()
        answer = self.server.callback_answers.get(callback_id)
        return answer.text if answer else None

    async def expect(self, contains: str | None = None, timeout: float = 5.0) -> StoredMessage:  # noqa: ASYNC109
        def match() -> StoredMessage | None:
            return next((m for m in self.new_messages() if contains is None or contains in (m.text or "")), None)

        seen = [m.text for m in self.new_messages()]
        try:
            await self.server.wait_for(match, timeout, what=f"a new message to {self.first_name} with {contains!r}")
        except TimeoutError as e:
            seen = [m.text for m in self.new_messages()] or seen
            raise TimeoutError(f"{e}\nnew messages {self.first_name} got: {seen}") from None
        found = match()
        assert found is not None
        self._cursor = found.seq
        return found

    async def _act(self, *, chat_id: int | None = None, **kwargs: Any) -> dict[str, Any]:
        self._cursor = self.server.seq
        message = self.server.push_message(self, chat_id or self.id, **kwargs)
        await self._settle()
        return message

    async def _settle(self) -> None:
        if self.server.auto_settle:
            await self.server.settle(self.server.settle_timeout)

    def _find_button(self, text: str, message: StoredMessage | None) -> tuple[StoredMessage, dict[str, Any]]:
        candidates = [message] if message is not None else list(reversed(self.messages))
        for msg in candidates:
            if (button := msg.button(text)) is not None:
                return msg, button
        for msg in candidates:
            partial = [b for row in msg.rows() for b in row if text in b["text"]]
            if len(partial) > 1:
                names = [b["text"] for b in partial]
                raise LookupError(f"{self.first_name}: {text!r} matches several buttons {names} in {msg!r}")
            if partial:
                return msg, partial[0]
        shown = [m.buttons for m in candidates[:3] if m.buttons]
        raise LookupError(f"{self.first_name} sees no button {text!r}; buttons on the latest messages: {shown}")
