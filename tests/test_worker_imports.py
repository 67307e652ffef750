"""A render worker imports a job's module when it unpickles the job: every function the bot
sends to the pool must live in a module that loads none of the bot's heavy packages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from receipts.worker import bot_packages

POOL_JOBS = [
    "receipts.spool",
    "receipts.render",
    "receipts.pdf",
    "receipts.charts",
    "receipts.captcha_image",
]
# What only the render workers need: the bot process starts faster without them.
RENDERERS = ("fpdf", "fontTools", "numpy", "matplotlib", "PIL")

# the account statement: its renderer, and the light entry the bot hands to the pool
POOL_JOBS += ["receipts.statement_pdf", "receipts.statement_content"]


@pytest.mark.parametrize("module", POOL_JOBS)
def test_a_pool_jobs_module_loads_nothing_of_the_bot(module: str) -> None:
    probe = f"import sys, {module}; print(chr(10).join(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert module in loaded  # the probe saw the modules
    assert bot_packages(loaded) == []


def test_the_check_names_a_heavy_package() -> None:
    assert bot_packages(["receipts.push", "aiogram", "aiogram.types", "storage.periods"]) == [
        "aiogram"
    ]
    assert bot_packages(["storage", "storage.models"]) == ["storage"]


def test_the_bot_process_loads_no_renderer() -> None:
    """`python -m bot` with its handlers, Mini App and scheduler: the PDF, chart and image
    libraries load in the workers only (they cost the bot half a second of CPU at each start)."""
    probe = (
        "import sys, bot.cli.run, bot.webapp, bot.scheduler, handlers; "
        "handlers.get_routers(); print(chr(10).join(sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "handlers.receipts" in loaded and "receipts.push" in loaded
    assert sorted({name.split(".")[0] for name in loaded} & set(RENDERERS)) == []
