"""The operators' side: the operators' chat (`chat`: answers, take/close, /stats) and the
administrators' /stats and /announce in a private chat (`admin`), and the billing month from
both (`imports`: files in, preview, load, receipts push, /imports, /undo_import, /export_readings;
`readings`: /photo, the photo a resident sent with a reading).

This router is FIRST in the dispatcher, so every handler here is fenced by a chat filter: group
updates only from `settings.operators_chat_id`, private ones only from `settings.admin_ids`.
Residents' updates never match and flow on to the features. Posting appeals to the chat is
`handlers.posting` (shared with the appeals feature); the retry sweep is `bot.appeal_jobs`.
"""

from __future__ import annotations

from aiogram import Router

from handlers.operators import admin, chat, imports, payments, readings


def router() -> Router:
    root = Router(name="operators")
    # billing files and commands first: the chat's router keeps every other message to itself
    root.include_routers(
        imports.router(), readings.router(), payments.router(), chat.router(), admin.router()
    )
    return root
