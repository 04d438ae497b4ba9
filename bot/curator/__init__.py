"""The curator desk: stalled students brought to a staff group, and a relay between students and curators."""

from bot.curator.desk import CuratorDesk

__all__ = ["CuratorDesk"]
