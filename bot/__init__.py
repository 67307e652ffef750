"""Entry point, configuration, dispatcher factory, middlewares, scheduler wiring and the CLI."""
