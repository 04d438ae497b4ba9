"""Milestones: which rewards a student has earned by now."""

from journeys.decisions import RewardEarned
from journeys.journey import Journey


def earned_rewards(journey: Journey, track_id: str, completed: set[str]) -> list[RewardEarned]:
    """Every reward whose trigger the completed steps meet, in the journey's order (already sent ones too:
    the outbox key makes each arrive once)."""
    steps = journey.track(track_id).steps
    done = sum(1 for step in steps if step in completed)
    percent = 100 * done // len(steps)
    earned = []
    for reward in journey.spec.rewards:
        trigger = reward.when
        if trigger.after_step is not None:
            hit = trigger.after_step in completed and trigger.after_step in steps
        elif trigger.at_percent is not None:
            hit = percent >= trigger.at_percent
        else:
            stage_steps = [s for s in steps if journey.stage_of(s).id == trigger.after_stage]
            hit = bool(stage_steps) and all(s in completed for s in stage_steps)
        if hit:
            earned.append(RewardEarned(reward))
    return earned
