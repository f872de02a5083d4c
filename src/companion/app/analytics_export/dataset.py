"""A Parquet dataset partitioned by day and type, written in bounded memory, put in place whole.

``DIR/day=2026-12-08/type=Conversation.UserMessageSent/part-0.parquet``: the
hive-style layout DuckDB, pyarrow, Spark and pandas read, the day and the type
given by the folders. Rows wait in memory per partition until a row group's
worth is there, and never more than `BUFFERED_ROWS` in all; a bounded number of
files are open at once (the least recently written is closed, and a later row
of its partition starts the next part).

An export is written beside its folder and then put in its place, so running
it again into the same folder replaces the earlier export whole, and one that
fails leaves the earlier one as it was. A folder that holds something else is
never replaced.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

MARKER = "_companion_export.json"
"""The file that says a folder is an export (readers of the dataset skip names with `_`)."""
ROW_GROUP_ROWS = 64_000
BUFFERED_ROWS = 256_000
OPEN_FILES = 64
PARTITION_COLUMNS = ("type",)
COMPRESSION = "zstd"
# Columns of few distinct values; a dictionary of the rest (states, ids of events) costs in vain.
DICTIONARY_COLUMNS = ("stream_id", "user_id", "character_id")
# Pages handed to the writing thread and not yet written.
PAGES_IN_FLIGHT = 2


class NotAnExport(Exception):
    """The folder an export should replace holds something that is not an export."""


class PartitionedWriter:
    """Tables with a `time` and a `type` column, written as ``day=…/type=…/part-N.parquet``."""

    def __init__(
        self,
        root: Path,
        schema: pa.Schema,
        *,
        row_group_rows: int | None = None,
        buffered_rows: int | None = None,
        open_files: int | None = None,
        prefix: str = "",
    ) -> None:
        self.root = root
        self.prefix = prefix
        self.schema = pa.schema([f for f in schema if f.name not in PARTITION_COLUMNS])
        self.row_group_rows = row_group_rows or ROW_GROUP_ROWS
        self.buffered_rows = buffered_rows or BUFFERED_ROWS
        self.open_files = open_files or OPEN_FILES
        self.rows = 0
        self._buffers: dict[tuple[str, str], list[pa.Table]] = {}
        self._counts: dict[tuple[str, str], int] = {}
        self._writers: OrderedDict[tuple[str, str], pq.ParquetWriter] = OrderedDict()
        self._parts: dict[tuple[str, str], int] = {}
        self._buffered = 0

    @property
    def buffered(self) -> int:
        """Rows waiting in memory to be written."""
        return self._buffered

    @property
    def open_writers(self) -> int:
        return len(self._writers)

    def add(self, table: pa.Table) -> None:
        if not len(table):
            return
        days = pc.cast(pc.cast(table["time"], pa.date32()), pa.string())
        keys = pc.binary_join_element_wise(days, table["type"], "\x1f")
        keys = (
            keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
        ).dictionary_encode()
        rows = table.drop_columns(list(PARTITION_COLUMNS))
        for code, key in enumerate(keys.dictionary.to_pylist()):
            day, _, type_ = key.partition("\x1f")
            part = rows.filter(pc.equal(keys.indices, code))
            self._buffers.setdefault((day, type_), []).append(part)
            count = self._counts.get((day, type_), 0) + len(part)
            self._counts[(day, type_)] = count
            self._buffered += len(part)
            if count >= self.row_group_rows:
                self._flush((day, type_))
        self.rows += len(table)
        if self._buffered >= self.buffered_rows:
            for partition in list(self._buffers):
                self._flush(partition)

    def close(self) -> None:
        for partition in list(self._buffers):
            self._flush(partition)
        while self._writers:
            _, writer = self._writers.popitem(last=False)
            writer.close()

    def _flush(self, partition: tuple[str, str]) -> None:
        tables = self._buffers.pop(partition, None)
        if not tables:
            return
        self._buffered -= self._counts.pop(partition)
        self._writer(partition).write_table(
            pa.concat_tables(tables), row_group_size=self.row_group_rows
        )

    def _writer(self, partition: tuple[str, str]) -> pq.ParquetWriter:
        writer = self._writers.get(partition)
        if writer is not None:
            self._writers.move_to_end(partition)
            return writer
        while len(self._writers) >= self.open_files:
            _, oldest = self._writers.popitem(last=False)
            oldest.close()
        day, type_ = partition
        folder = self.root / f"day={day}" / f"type={type_}"
        folder.mkdir(parents=True, exist_ok=True)
        part = self._parts.get(partition, 0)
        self._parts[partition] = part + 1
        writer = pq.ParquetWriter(
            folder / f"part-{self.prefix}{part}.parquet",
            self.schema,
            compression=COMPRESSION,
            use_dictionary=[c for c in DICTIONARY_COLUMNS if c in self.schema.names],
        )
        self._writers[partition] = writer
        return writer


@dataclass
class Staging:
    """The folder an export is written into before it is put in place, and its rows."""

    root: Path
    rows: int = 0


@contextmanager
def staged(directory: Path, about: Mapping[str, Any]) -> Iterator[Staging]:
    """A fresh folder beside `directory`, put in its place when the block ends without error.

    `about` goes into the folder's MARKER file, with the rows counted in the staging.
    An earlier export in `directory` is replaced; a folder holding anything else is
    refused (NotAnExport); a block that fails leaves `directory` as it was.
    """
    check_replaceable(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f".{directory.name}.writing-", dir=directory.parent))
    staging = Staging(root)
    try:
        yield staging
        marker = {**about, "events": staging.rows}
        (root / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        _put_in_place(root, directory)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def write_dataset(
    directory: Path,
    schema: pa.Schema,
    tables: Iterable[pa.Table],
    about: Mapping[str, Any],
) -> int:
    """Write `tables` as the dataset in `directory`, replacing an earlier export; the rows."""
    with staged(directory, about) as staging:
        staging.rows = write_tables(PartitionedWriter(staging.root, schema), tables)
    return staging.rows


def write_tables(writer: PartitionedWriter, tables: Iterable[pa.Table]) -> int:
    """Write `tables` with `writer` and close it; the rows written."""
    try:
        _write_behind(writer, tables)
    finally:
        writer.close()
    return writer.rows


def _write_behind(writer: PartitionedWriter, tables: Iterable[pa.Table]) -> None:
    """Write each table from a thread of its own while the next is made, a few at most waiting.

    Arrow compresses and writes without the interpreter's lock, so the two overlap.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="parquet-writer") as pool:
        waiting: deque[Future[None]] = deque()
        try:
            for table in tables:
                waiting.append(pool.submit(writer.add, table))
                while len(waiting) > PAGES_IN_FLIGHT:
                    waiting.popleft().result()
            while waiting:
                waiting.popleft().result()
        finally:
            for future in waiting:
                future.cancel()


def check_replaceable(directory: Path) -> None:
    """Refuse a folder that exists and holds anything but an earlier export."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise NotAnExport(f"{directory} is not a folder")
    if (directory / MARKER).is_file() or not any(directory.iterdir()):
        return
    raise NotAnExport(
        f"{directory} holds files that are not an export of events; choose an empty or new folder"
    )


def _put_in_place(staging: Path, directory: Path) -> None:
    """Rename the finished export to `directory`; the earlier one is removed after."""
    if not directory.exists():
        staging.rename(directory)
        return
    earlier = directory.with_name(f".{directory.name}.replaced-{uuid4().hex[:8]}")
    directory.rename(earlier)
    staging.rename(directory)
    shutil.rmtree(earlier, ignore_errors=True)
