"""Persistence: Peewee models on SQLite, repositories that speak in records."""

from jobdesk.store.database import Store

__all__ = ["Store"]
