from bot.standin.client import FakeUser
from bot.standin.server import ApiCall, BotAPIStandIn, CallbackAnswer, MessageEdit, StoredFile, StoredMessage

__all__ = [
    "ApiCall",
    "BotAPIStandIn",
    "CallbackAnswer",
    "FakeUser",
    "MessageEdit",
    "StoredFile",
    "StoredMessage",
]
