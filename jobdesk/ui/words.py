"""Wording helpers the window's dialogs share."""

from __future__ import annotations


def sentence(message: str) -> str:
    """Domain messages start in lower case (they also end up mid-sentence in the CLI)."""
    return message[:1].upper() + message[1:] if message else message
