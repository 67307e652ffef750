"""Placeholder: these commands are being built (see the issues)."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    return None
