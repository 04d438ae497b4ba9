"""The paid graduate club: access from the ledger, personal invite links, join requests, the lifecycle, /club."""

from bot.club.service import Club

__all__ = ["Club"]
