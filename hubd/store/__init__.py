"""hubd's persistence: SQLite in WAL mode (Store) and the asyncio write-behind (WriteBehind)."""

from hubd.store.rows import (
    TRACES_PER_RULE,
    Batch,
    CorruptDatabaseError,
    OutboxKind,
    OutboxRow,
    RuleRow,
    SchemaTooNewError,
    Snapshot,
    StoreError,
    TimerRow,
    TokenRow,
    TraceRow,
)
from hubd.store.schema import SCHEMA_VERSION
from hubd.store.sqlite import Store
from hubd.store.writebehind import WriteBehind

__all__ = [
    "SCHEMA_VERSION",
    "TRACES_PER_RULE",
    "Batch",
    "CorruptDatabaseError",
    "OutboxKind",
    "OutboxRow",
    "RuleRow",
    "SchemaTooNewError",
    "Snapshot",
    "Store",
    "StoreError",
    "TimerRow",
    "TokenRow",
    "TraceRow",
    "WriteBehind",
]
