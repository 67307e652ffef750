"""The built-in fake Telegram Bot API (`bot.fakeapi.server.FakeTelegram`): the tests' network
edge, `python -m bot try`'s chat in a terminal, and a server to script against
(`python -m bot.fakeapi.server`). It ships with the bot so that trying it needs no Telegram."""
