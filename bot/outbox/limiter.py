"""Pacing sends the way Telegram asks: ~30/s overall, ~1/s per private chat, 20/minute per group.

Real (monotonic) time, not the journey clock. A chat waiting for its own slot never holds up the others;
`pause()` (after a 429) holds up everyone. Each chat is expected to acquire sequentially (the sender runs
one worker per chat), right before its request, and to call `done` once the request is answered, whatever
the answer.

The token bucket spreads messages at the rate. On top of it no one-second window, as Telegram counts on
arrival, holds more than the rate: a request counts from its slot until a second after its answer (it
arrives somewhere in between). Without that a full bucket after a quiet spell let twice the rate through
in one second.
"""

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

PRIVATE_INTERVAL = 1.0  # seconds between two messages to one person
GROUP_INTERVAL = 3.0  # 20 a minute, evenly spread
PRUNE_AT = 10_000  # chats remembered before the stale ones are forgotten
EPSILON = 1e-9
WINDOW = 1.0  # seconds over which at most `rate` requests arrive
STALE = 60.0  # a slot never given back (a caller that died mid-request) stops counting after this long


class Limiter:
    def __init__(
        self,
        rate: float = 25.0,
        *,
        burst: float | None = None,
        private_interval: float = PRIVATE_INTERVAL,
        group_interval: float = GROUP_INTERVAL,
        time: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = float(rate)
        self.burst = max(1.0, float(burst if burst is not None else rate))  # about one second's worth
        self.private_interval, self.group_interval = private_interval, group_interval
        self._time, self._sleep = time, sleep
        self._tokens = self.burst
        self._refilled = self._time()
        self._paused_until = 0.0
        self._next: dict[int, float] = {}  # chat id → earliest moment of its next message
        self.cap = max(1, int(self.rate + EPSILON))  # requests in any one WINDOW
        self._flying: dict[int, float] = {}  # chat id → when its request in flight took its slot
        self._answered: deque[float] = deque()  # when the requests of the last WINDOW were answered, in order
        self._lock = asyncio.Lock()  # the global bucket serves callers first come, first served

    def interval(self, chat_id: int) -> float:
        return self.private_interval if chat_id > 0 else self.group_interval

    async def chat_turn(self, chat_id: int) -> None:
        """Waits until the chat's own interval has passed, without taking anything."""
        while (wait := self._next.get(chat_id, 0.0) - self._time()) > 0:
            await self._sleep(wait)

    async def acquire(self, chat_id: int) -> None:
        """Waits until one message may go to the chat, and counts it as sent (until `done`)."""
        await self.chat_turn(chat_id)
        async with self._lock:
            while True:
                now = self._time()
                if now < self._paused_until:
                    await self._sleep(self._paused_until - now)
                    continue
                if (wait := self._window_wait(now)) > 0:
                    self._hold_bucket(now + wait)
                    await self._sleep(wait)
                    continue
                self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
                self._refilled = now
                if self._tokens >= 1 - EPSILON:  # rounding must not leave a sliver to wait for forever
                    self._tokens = max(0.0, self._tokens - 1)
                    break
                await self._sleep((1 - self._tokens) / self.rate)
        self._taken(chat_id, self._time())

    def try_acquire(self, chat_id: int) -> bool:
        """`acquire` without waiting: True when a message may go to the chat right now (and counts it),
        False when it would have to wait or others already wait for the bucket. At a thousand messages a
        second the tasks and futures of a waiting acquire cost more than the check."""
        now = self._time()
        if self._lock.locked() or now < self._paused_until or self._next.get(chat_id, 0.0) > now:
            return False
        if (wait := self._window_wait(now)) > 0:
            self._hold_bucket(now + wait)
            return False
        tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
        if tokens < 1 - EPSILON:
            return False
        self._tokens, self._refilled = max(0.0, tokens - 1), now
        self._taken(chat_id, now)
        return True

    def _window_wait(self, now: float) -> float:
        """0 when one more request fits in the last WINDOW; otherwise how long until one may."""
        answered = self._answered
        while answered and answered[0] <= now - WINDOW:
            answered.popleft()
        if len(self._flying) + len(answered) < self.cap:
            return 0.0
        if answered:
            return answered[0] + WINDOW - now
        stale = [chat for chat, at in self._flying.items() if at <= now - STALE]
        for chat in stale:
            del self._flying[chat]
        return 0.0 if stale else 1 / self.rate  # all in flight: look again once one may have been answered

    def _hold_bucket(self, until: float) -> None:
        # the bucket must not fill up while the window is full, or the window's opening lets a burst through:
        # one token when it opens, then the rate
        self._tokens, self._refilled = 1.0, until

    def _taken(self, chat_id: int, now: float) -> None:
        if len(self._next) >= PRUNE_AT:
            self._next = {chat: at for chat, at in self._next.items() if at > now}
        self._next[chat_id] = now + self.interval(chat_id)
        self._flying[chat_id] = now

    def done(self, chat_id: int) -> None:
        """The request was answered (sent or not): it counts in the window for one more WINDOW, and the
        chat's next one waits a full interval from now, so that a slow request followed by a fast one cannot
        land closer together than the interval."""
        now = self._time()
        if self._flying.pop(chat_id, None) is not None:
            self._answered.append(now)
        self._next[chat_id] = max(self._next.get(chat_id, 0.0), now + self.interval(chat_id))

    def pause(self, seconds: float) -> None:
        """Nothing goes out for `seconds` (Telegram said retry_after); then sending restarts gently."""
        until = self._time() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
            self._tokens, self._refilled = 0.0, until

    @property
    def paused(self) -> bool:
        return self._time() < self._paused_until


class BulkLimiter(Limiter):
    """Paces broadcast rows (Priority.BULK) at BROADCAST_RATE. Without paid mode they also take their turn in
    the transactional limiter, so both together stay under Telegram's free ~30/s."""

    def __init__(self, rate: float, shared: Limiter | None) -> None:
        super().__init__(rate, burst=max(1.0, rate / 10))  # a tenth of a second's worth: no burst at the start
        self.shared = shared

    async def acquire(self, chat_id: int) -> None:
        await super().acquire(chat_id)
        if self.shared is not None:
            await self.shared.acquire(chat_id)

    def try_acquire(self, chat_id: int) -> bool:
        # two buckets cannot be taken atomically without waiting; the shared (free, ~30/s) mode always waits
        return self.shared is None and super().try_acquire(chat_id)

    def done(self, chat_id: int) -> None:
        super().done(chat_id)
        if self.shared is not None:
            self.shared.done(chat_id)

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        if self.shared is not None:
            self.shared.pause(seconds)
