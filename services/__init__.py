"""Use cases, independent of Telegram: what the bot does, not how it is asked.

Handlers translate updates into calls of these functions and render what they return; the CLI and
the scheduler's jobs call them too. A service owns its unit of work: it takes a session (or a
session factory for long jobs), calls repositories (`storage.repo`), which never commit, and
commits itself when the use case is complete. Services import `storage`, `bot.config` (settings)
and each other, never `aiogram`, `handlers` or `keyboards`.
"""
