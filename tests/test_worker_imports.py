"""A render worker imports a job's module when it unpickles the job: every function the bot
sends to the pool must live in a module that loads none of the bot's heavy packages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from receipts.worker import BOT_ONLY_PACKAGES

POOL_JOBS = ["receipts.spool", "receipts.pdf", "receipts.charts", "receipts.captcha_image"]


@pytest.mark.parametrize("module", POOL_JOBS)
def test_a_pool_jobs_module_loads_nothing_of_the_bot(module: str) -> None:
    probe = f"import sys, {module}; print(sorted({{name.split('.')[0] for name in sys.modules}}))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert not [package for package in BOT_ONLY_PACKAGES if f"'{package}'" in loaded]
