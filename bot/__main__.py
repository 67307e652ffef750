"""`python -m bot [command]`: only wires. See `bot.cli` for the commands."""

from bot.cli import main

if __name__ == "__main__":
    main()
