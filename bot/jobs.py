"""Every scheduled job and every sender hook, registered in one place.

A job is a Ticker job: it finds due work with indexed queries in its own transaction (bot/scheduler.py).
A hook is how the sender hands a sent (or failed) row back to the part that queued it (bot/outbox/sender.py).
The order of the jobs is the order they run in within a tick.
"""

from bot.broadcasts import BroadcastService
from bot.club import Club
from bot.curator.desk import CuratorDesk
from bot.outbox.payloads import (
    AlertPayload,
    GrantNotePayload,
    OfferPayload,
    RelayPayload,
    ReplyPayload,
    StudentCardPayload,
)
from bot.outbox.sender import OutboxSender
from bot.scheduler import Ticker
from bot.services.engagement import Engagement
from bot.services.offers import Offers


def wire_jobs(
    ticker: Ticker,
    sender: OutboxSender,
    *,
    engagement: Engagement,
    desk: CuratorDesk,
    broadcasts: BroadcastService,
    club: Club,
    offers: Offers,
) -> None:
    ticker.add("cohort starts", engagement.start_cohorts)
    ticker.add("nudges", engagement.send_nudges)
    ticker.add("stalls", engagement.detect_stalls)
    ticker.add("offers", offers.tick)  # offers, deadline reminders and check-ins whose time has come
    sender.add_hook(OfferPayload, after=offers.offer_sent)
    if desk.enabled:
        ticker.add("curator.snoozed", desk.return_snoozed)
        ticker.add("curator.digest", desk.queue_digest)
        ticker.add("curator.topics", desk.repair_topics)
        # group messages go into the student's forum topic, and are linked to the alert or student once sent
        sender.add_hook(AlertPayload, before=desk.into_topic, after=desk.alerts.alert_sent)
        sender.add_hook(RelayPayload, before=desk.into_topic, after=desk.relay.relayed)
        sender.add_hook(ReplyPayload, after=desk.relay.reply_sent, failed=desk.relay.reply_failed)
        sender.add_hook(StudentCardPayload, after=desk.topics.card_sent)
        sender.add_hook(GrantNotePayload, before=desk.into_topic)
    if club.enabled:
        ticker.add("club", club.lifecycle.tick)
    ticker.add("broadcasts", broadcasts.delivery.tick)
    # whatever a tick or a broadcast queued for now is claimed at once, not at the sender's next poll
    ticker.after_tick.append(sender.wake)
    broadcasts.delivery.on_queued.append(sender.wake)
