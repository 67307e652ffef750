"""Keyboard builders (pure functions) and CallbackData factories, one module per feature."""
