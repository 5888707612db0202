"""Database access: the pool, the embedded server, named queries and migrations."""
from bot.db.pool import Database, open_database

__all__ = ["Database", "open_database"]
