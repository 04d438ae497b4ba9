from aiogram import Router

from bot.broadcasts import wizard
from bot.handlers import checkout, courses, curator, fallback, help, refund, relay, staff, start, steps, survey


def student_routers() -> list[Router]:
    # fresh routers for every dispatcher; the catch-all fallback goes last
    return [module.build_router() for module in (start, survey, steps, courses, help, relay, checkout, fallback)]


def staff_routers(curator_chat_id: int | None) -> list[Router]:
    # before the student routers: their fallback answers every button nobody else handled
    routers = [staff.build_router(), refund.build_router(), wizard.build_router()]
    if curator_chat_id is not None:
        routers.append(curator.build_router(curator_chat_id))
    return routers
