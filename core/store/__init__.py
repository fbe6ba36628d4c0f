"""The store: one DuckDB file, its connections and locking, its schema, and the SQL for each record kind.

Owns every statement that reads or writes the store's tables. Imports only :mod:`core.errors`,
:mod:`core.types` and :mod:`core.text`: every other subpackage builds on it
(store <- data <- modeling <- analysis <- report).
"""

from core.store.connection import DEFAULT_STORE, LOCK_TIMEOUT_S, STORE_ENV, Store, default_store_path
from core.store.migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "DEFAULT_STORE",
    "LOCK_TIMEOUT_S",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "Store",
    "default_store_path",
]
