from bot.standin.client import FakeUser
from bot.standin.records import (
    ApiCall,
    CallbackAnswer,
    InviteLink,
    JoinRequest,
    JoinResult,
    MessageEdit,
    StoredFile,
    StoredMessage,
)
from bot.standin.server import BotAPIStandIn

__all__ = [
    "ApiCall",
    "BotAPIStandIn",
    "CallbackAnswer",
    "FakeUser",
    "InviteLink",
    "JoinRequest",
    "JoinResult",
    "MessageEdit",
    "StoredFile",
    "StoredMessage",
]
