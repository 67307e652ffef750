from bot.middlewares.db import DbSessionMiddleware
from bot.middlewares.resident import ResidentMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware

__all__ = ["DbSessionMiddleware", "ResidentMiddleware", "ThrottlingMiddleware"]
