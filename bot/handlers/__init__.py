from aiogram import Router

from bot.broadcasts import wizard
from bot.handlers import (
    checkout,
    club,
    club_joins,
    club_staff,
    courses,
    curator,
    fallback,
    help,
    offers,
    refund,
    relay,
    staff,
    start,
    steps,
    survey,
)


def student_routers() -> list[Router]:
    # fresh routers for every dispatcher; the catch-all fallback goes last
    return [
        module.build_router()
        for module in (start, survey, steps, courses, help, relay, club, offers, checkout, fallback)
    ]


def staff_routers(curator_chat_id: int | None) -> list[Router]:
    # before the student routers: their fallback answers every button nobody else handled
    routers = [staff.build_router(), refund.build_router(), wizard.build_router(), club_staff.build_router()]
    if curator_chat_id is not None:
        routers.append(curator.build_router(curator_chat_id))
    return routers


def club_routers(club_chat_id: int | None) -> list[Router]:
    return [club_joins.build_router(club_chat_id)] if club_chat_id is not None else []
