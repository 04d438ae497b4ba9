from aiogram import Router

from bot.handlers import fallback, help, start, steps, survey


def student_routers() -> list[Router]:
    # fresh routers for every dispatcher; the catch-all fallback goes last
    return [module.build_router() for module in (start, survey, steps, help, fallback)]
