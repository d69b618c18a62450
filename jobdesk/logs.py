"""Logging to a rotating file in the platform's log folder (and the console for the CLI)."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def log_to_file(folder: Path, level: int = logging.INFO) -> Path:
    """Send every log record to `folder/jobdesk.log` (5 files of 2 MB); return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "jobdesk.log"
    handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=4, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    return path
