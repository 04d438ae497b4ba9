from bot.standin.client import FakeUser
from bot.standin.records import ApiCall, CallbackAnswer, MessageEdit, StoredFile, StoredMessage
from bot.standin.server import BotAPIStandIn

__all__ = [
    "ApiCall",
    "BotAPIStandIn",
    "CallbackAnswer",
    "FakeUser",
    "MessageEdit",
    "StoredFile",
    "StoredMessage",
]
