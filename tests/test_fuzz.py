"""A few thousand random updates from a few dozen students, through the stand-in, against the running bot.

Seeded: the seed is printed, and FUZZ_SEED=... replays a run (FUZZ_ROUNDS, FUZZ_SECONDS make it longer). The bot must
log no error, answer every button press, and answer every private message with at least one message (or a
reaction) in that chat. Each round every student does one thing and the bot settles, so a bot message in a
student's chat after their action of the round is the answer to it.
"""

import logging
import os
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.standin import BotAPIStandIn
from bot.standin.server import StoredMessage
from journeys.clock import ManualClock
from tests.conftest import make_settings, running_bot

STUDENTS = 36
FIRST_ID = 50_001
GROUP = -100_424_242  # a group the bot is in; not the curator chat
CURATORS = -100_777_000
ROUNDS = int(os.environ.get("FUZZ_ROUNDS", "60"))  # x STUDENTS actions: about 2200
# per backend: the run stops early rather than overrun; it usually ends by ROUNDS well before, but beside three
# other pytest-xdist workers on two cores it may need all of it to reach its 1000 actions
TIME_BOX = float(os.environ.get("FUZZ_SECONDS", "120"))

EDGE_TEXTS = [
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u202eevil\u202c",
    "\u200d",  # zero-width joiner
    "\u200b\u200b",  # zero-width spaces
    "\ufeff",  # byte order mark
    " ",
    "\t\n  \n",
    "\u3000",  # ideographic space
    "😀",
    "👩\u200d👩\u200d👧\u200d👦",  # one family emoji made of joined ones
    "🇷🇺🏳️\u200d🌈",
    "e\u0301\u0301\u0301\u0301",  # combining accents
    "Z\u0336a\u0336l\u0336g\u0336o\u0336",
    "مرحبا بالعالم",
    "שלום",
    "<b>not html</b> & <i>",
    "&lt;&amp;&#0;",
    "a\x00b",
    "\x1b[31mred",
    "x" * 4096,
    "я" * 4096,
    "😀" * 2048,  # 4096 UTF-16 code units
    "/",
    "/ ",
    "//",
    "/\u200f",
    "/start@otherbot",
    "/start@journeybot_demo_bot",
    "/START",
    "/help@",
    "@journeybot_demo_bot",
    "/cancel",
    "/cancel@otherbot",
    "/curator",
    "/progress",
    "/help",
    "/staff",
    "/staff add ² care",
    "/broadcast",
    "/broadcasts",
    "/unknown_command",
    "/start " + "p" * 4089,
    "/help " + "h" * 4090,
    "/start ../../etc/passwd",
    "/start \u202e",
    "/старт",
    "1",
    "-1",
    "99999999999999999999999",
    "null",
    "{}",
    "' OR 1=1 --",
]
COMMANDS = ["/start", "/help", "/progress", "/curator", "/cancel", "/staff", "/broadcast", "/broadcasts"]


def sticker(rng: random.Random) -> dict[str, Any]:
    unique = f"s{rng.randrange(10**6)}"
    return {
        "sticker": {
            "file_id": unique,
            "file_unique_id": unique,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "😀",
        }
    }


def contact(rng: random.Random) -> dict[str, Any]:
    return {"contact": {"phone_number": f"+7{rng.randrange(10**10):010d}", "first_name": "Someone"}}


def location(rng: random.Random) -> dict[str, Any]:
    return {"location": {"latitude": rng.uniform(-90, 90), "longitude": rng.uniform(-180, 180)}}


def venue(rng: random.Random) -> dict[str, Any]:
    place = location(rng)["location"]
    return {"venue": {"location": place, "title": "Café", "address": "Main st 1"}, "location": place}


def dice(rng: random.Random) -> dict[str, Any]:
    return {"dice": {"emoji": rng.choice("🎲🎯🏀⚽🎳🎰"), "value": rng.randint(1, 6)}}


def video_note(rng: random.Random) -> dict[str, Any]:
    unique = f"vn{rng.randrange(10**6)}"
    return {"video_note": {"file_id": unique, "file_unique_id": unique, "length": 240, "duration": 3}}


def poll(rng: random.Random) -> dict[str, Any]:
    options = [{"persistent_id": str(i), "text": text, "voter_count": 0} for i, text in enumerate(["yes", "no"])]
    return {
        "poll": {
            "id": str(rng.randrange(10**9)),
            "question": "?",
            "options": options,
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
    }


OTHER_CONTENT: list[Callable[[random.Random], dict[str, Any]]] = [
    sticker,
    contact,
    location,
    venue,
    dice,
    video_note,
    poll,
]


def random_text(rng: random.Random) -> str:
    pools = [
        string.printable,
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя ",
        "\u200f\u200e\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d",
        "😀🎉👍🏽❤️🔥\u200d🇷🇺",
        "".join(chr(c) for c in range(0x0300, 0x0370)),  # combining marks
        "<>&\"'/\\:@#",
    ]
    pool = "".join(rng.sample(pools, rng.randint(1, len(pools))))
    return "".join(rng.choice(pool) for _ in range(rng.choice([1, 2, 5, 40, 300, 4096])))[:4096]


def forged_data(rng: random.Random, seen: list[str]) -> str:
    big = rng.choice([2**31, 2**31 - 1, 2**63, 2**63 - 1, 2**64, 10**30, -(2**31) - 1, -1, 0])
    choices = [
        lambda: rng.choice(seen) if seen else "a:1:0:0",  # a real button's data, maybe someone else's
        lambda: f"{rng.choice('akdrq')}:{big}:{rng.randint(0, 3)}:{rng.randint(0, 3)}",
        lambda: f"a:{rng.randint(1, 60)}:{big}:0",
        lambda: f"d:{rng.randint(1, 60)}:{rng.randint(0, 20)}",
        lambda: f"k:{rng.randint(1, 60)}:{rng.randint(0, 5)}",
        lambda: f"r:{big}",
        lambda: f"q:{rng.randint(1, 60)}",
        lambda: f"sr:{big}:{rng.choice(['admin', 'care', '-', 'x'])}",
        lambda: f"al:{big}:{rng.choice(['take', 'done', 's1', 'zz'])}",
        lambda: f"bw:{big}:{rng.choice(['st', 'o', 'stop', 'send'])}:{rng.randint(0, 99)}:{rng.randint(0, 99)}",
        lambda: "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 64))),
        lambda: rng.choice(["a", "a:", "a::", ":::", "d:1", "d:1:2:3:4", "a:x:y:z", "a:١:٢:٣", "d:1e3:0"]),
    ]
    return rng.choice(choices)()[:64]


@dataclass
class Tally:
    """What the run did, and what went unanswered."""

    actions: dict[str, int] = field(default_factory=dict)
    unanswered_messages: list[str] = field(default_factory=list)
    unanswered_presses: list[str] = field(default_factory=list)

    def count(self, kind: str) -> None:
        self.actions[kind] = self.actions.get(kind, 0) + 1


class Fuzzer:
    def __init__(self, standin: BotAPIStandIn, rng: random.Random) -> None:
        self.standin, self.rng = standin, rng
        self.students = [self._student(FIRST_ID + i) for i in range(STUDENTS)]
        standin.group(GROUP, "Students' chat", members=self.students)
        standin.group(CURATORS, "Curators", is_forum=True, members={self.students[0]: "administrator"})
        self.tally = Tally()

    def _student(self, user_id: int) -> int:
        rng = self.rng
        first = rng.choice(["Anna", "Борис", "مريم", "\u202eevil", "😀", "A" * 64, "Ω" * 64, "x"])
        last = rng.choice([None, "Smith", "Л" * 64, "\u200f"])
        username = rng.choice([None, f"user{user_id}", "a" * 32])
        language = rng.choice(["en", "ru", None, "uk", "zz", "pt-br"])
        self.standin.user(user_id, first, last_name=last, username=username, language_code=language)
        return user_id

    def bot_messages(self, chat_id: int) -> list[StoredMessage]:
        return [m for m in self.standin.messages_in(chat_id) if m.from_bot and not m.deleted]

    def all_button_data(self) -> list[str]:
        found = []
        for user_id in self.students:
            for message in self.bot_messages(user_id)[-5:]:
                found += [b["callback_data"] for row in message.rows() for b in row if "callback_data" in b]
        return found

    def act(self, user_id: int, seen: list[str]) -> Callable[[], str | None]:
        """Does one random thing as the student; returns a check to run once the bot has settled."""
        rng, standin = self.rng, self.standin
        roll = rng.random()
        if roll < 0.25:
            return self._press(user_id, seen)
        if roll < 0.30:
            self._group_message(user_id)
            return lambda: None
        if roll < 0.34 and (mine := [m for m in standin.messages_in(user_id) if m.sender_id == user_id]):
            texts = [m for m in mine if "text" in m.raw]
            if texts:
                self.tally.count("edited message")
                standin.push_edit(user_id, user_id, rng.choice(texts).message_id, random_text(rng))
                return lambda: None  # an edit is not a new message: no answer is owed
        return self._private_message(user_id)

    def _private_message(self, user_id: int) -> Callable[[], str | None]:
        rng, standin = self.rng, self.standin
        kind = rng.choices(["edge", "random", "command", "media", "other", "forward", "reply"], [5, 3, 4, 2, 2, 1, 1])[
            0
        ]
        self.tally.count(f"message: {kind}")
        kwargs: dict[str, Any] = {}
        text: str | None = None
        if kind == "edge":
            text = rng.choice(EDGE_TEXTS)
        elif kind == "random":
            text = random_text(rng)
        elif kind == "command":
            text = rng.choice(COMMANDS) + rng.choice(["", " ", " " + random_text(rng), "@journeybot_demo_bot"])
        elif kind == "media":
            media = rng.choice(["photo", "document", "voice", "video"])
            kwargs = {media: b"\x00fake", "caption": rng.choice([None, random_text(rng)[:1024], "/start"])}
        elif kind == "other":
            kwargs = {"extra": rng.choice(OTHER_CONTENT)(rng)}
        elif kind == "forward":
            text = random_text(rng)
            origin = rng.choice(
                [
                    {"type": "user", "date": 0, "sender_user": {"id": 1, "is_bot": False, "first_name": "X"}},
                    {"type": "hidden_user", "date": 0, "sender_user_name": "\u202eHidden"},
                    {"type": "channel", "date": 0, "chat": {"id": -1001, "type": "channel"}, "message_id": 1},
                ]
            )
            kwargs = {"forward_origin": origin}
        else:
            text = random_text(rng)
            earlier = self.bot_messages(user_id)
            kwargs = {"reply_to_message_id": rng.choice(earlier).message_id} if earlier else {}
        sent = standin.push_message(user_id, user_id, text, **kwargs)
        message_id, seq = sent["message_id"], standin.seq
        shown = repr((text or str(kwargs.get("extra") or kind))[:40])

        def answered() -> str | None:
            replies = [m for m in self.bot_messages(user_id) if m.seq > seq]
            reactions = [c for c in standin.calls_to("setMessageReaction") if c.params.get("message_id") == message_id]
            return None if replies or reactions else f"{user_id}: {kind} {shown}"

        return answered

    def _press(self, user_id: int, seen: list[str]) -> Callable[[], str | None]:
        rng, standin = self.rng, self.standin
        mine = [m for m in self.bot_messages(user_id) if m.rows()]
        inline = [b for m in mine[-3:] for row in m.rows() for b in row if "callback_data" in b]
        in_group = rng.random() < 0.1 and self.bot_messages(GROUP)
        if in_group:
            chat_id, message = GROUP, rng.choice(self.bot_messages(GROUP))
        else:
            # only the bot's messages carry buttons: nobody can press on a message they typed
            everything = self.bot_messages(user_id)
            choices = mine[-2:] if mine and rng.random() < 0.6 else everything
            chat_id, message = user_id, rng.choice(choices) if choices else None
        if message is None:  # nothing in the chat to press on yet
            return self._private_message(user_id)
        if inline and rng.random() < 0.5:
            kind, data = "real", rng.choice(inline)["callback_data"]
        else:
            kind, data = "forged", forged_data(rng, seen)
        old = rng.random() < 0.15
        self.tally.count(f"press: {kind}{' on an old message' if old else ''}{' in a group' if in_group else ''}")
        callback_id = standin.push_callback(user_id, message.message_id, chat_id, data, inaccessible=old)

        def answered() -> str | None:
            return None if callback_id in standin.callback_answers else f"{user_id}: press {data!r}"

        return answered

    def _group_message(self, user_id: int) -> None:
        self.tally.count("group message")
        text = self.rng.choice([*EDGE_TEXTS[:10], "/start", "/help@journeybot_demo_bot", random_text(self.rng)])
        chat_id = self.rng.choice([GROUP, GROUP, CURATORS]) if user_id == self.students[0] else GROUP
        self.standin.push_message(user_id, chat_id, text)


async def test_random_updates_are_all_answered_without_errors(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    seed = int(os.environ.get("FUZZ_SEED") or random.SystemRandom().randrange(10**9))
    print(f"fuzz seed: {seed} (replay: FUZZ_SEED={seed})")
    rng = random.Random(seed)
    caplog.set_level(logging.WARNING)
    standin.auto_settle = False
    fuzzer = Fuzzer(standin, rng)
    settings = make_settings(database_url, standin, curator_chat_id=CURATORS, admin_ids=str(FIRST_ID + 1))
    async with running_bot(settings, clock):
        started, rounds = time.monotonic(), 0
        # everyone starts, so most of the run exercises enrolled students and their buttons
        for user_id in fuzzer.students:
            standin.push_message(user_id, user_id, "/start")
        await standin.settle(30)
        while rounds < ROUNDS and time.monotonic() - started < TIME_BOX:
            seen = fuzzer.all_button_data()
            checks = [fuzzer.act(user_id, seen) for user_id in fuzzer.students]
            await standin.settle(30)
            for check in checks:
                if (problem := check()) is not None:
                    bucket = fuzzer.tally.unanswered_presses if "press" in problem else fuzzer.tally.unanswered_messages
                    bucket.append(problem)
            rounds += 1
        elapsed = time.monotonic() - started
    tally = fuzzer.tally
    total = sum(tally.actions.values())
    print(f"fuzz: {total} actions in {rounds} rounds, {elapsed:.1f}s; {dict(sorted(tally.actions.items()))}")
    errors = [
        f"{r.name}: {r.getMessage()[:200]}" + "".join(f"\n    {line}" for line in (r.exc_text or "").splitlines()[-5:])
        for r in caplog.records
        if r.levelno >= logging.ERROR
    ]
    assert errors == [], f"seed {seed}: {len(errors)} errors, the first ones:\n" + "\n".join(errors[:5])
    assert tally.unanswered_presses == [], f"seed {seed}"
    assert tally.unanswered_messages == [], f"seed {seed}"
    assert total >= 1000, f"seed {seed}: only {total} actions in {TIME_BOX}s"
