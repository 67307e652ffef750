"""User-facing texts, one place per language (`texts.ru`), and Russian formatting of values.

A leaf package: handlers, keyboards and receipts import it; it imports nothing of ours.
"""
