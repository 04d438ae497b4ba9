"""Broadcasts to segments of students: the wizard's draft, queueing, progress and reports."""

from bot.broadcasts.service import BroadcastService, BulkLimiter

__all__ = ["BroadcastService", "BulkLimiter"]
