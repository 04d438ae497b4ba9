"""The progress tracker shown with every step: «Шаг 3 из 8 ▓▓▓░░░░░ 37%»."""

from dataclasses import dataclass

BAR_WIDTH = 8


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 100

    def bar(self, width: int = BAR_WIDTH) -> str:
        filled = round(width * self.done / self.total) if self.total else width
        return "▓" * filled + "░" * (width - filled)
