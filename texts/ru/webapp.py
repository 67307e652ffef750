"""Texts of the Mini App's entries in the chat (the page's own texts are in bot/webapp/static)."""

BTN_TABLE = "📋 Таблица"
MENU_BUTTON = "Таблица"
