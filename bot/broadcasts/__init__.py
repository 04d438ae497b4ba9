"""Broadcasts to segments of students: the wizard's draft, queueing, progress and reports."""

from bot.broadcasts.service import BroadcastService

__all__ = ["BroadcastService"]
