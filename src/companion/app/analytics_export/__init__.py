"""The event log as a Parquet dataset for analysts: one row per event, by day and type.

`columns` turns pages of stored events into Arrow tables (attributed, decrypted,
redacted on demand, the state as JSON); `dataset` writes them partitioned by day
and type, a bounded number of rows in memory, and puts the finished export in
place of an earlier one. Importing this package imports pyarrow: only a command
that writes or reads an export does.
"""

from __future__ import annotations

from companion.app.analytics_export.columns import SCHEMA, EventColumns
from companion.app.analytics_export.dataset import (
    MARKER,
    NotAnExport,
    PartitionedWriter,
    Staging,
    check_replaceable,
    staged,
    write_dataset,
    write_tables,
)

__all__ = [
    "MARKER",
    "SCHEMA",
    "EventColumns",
    "NotAnExport",
    "PartitionedWriter",
    "Staging",
    "check_replaceable",
    "staged",
    "write_dataset",
    "write_tables",
]
