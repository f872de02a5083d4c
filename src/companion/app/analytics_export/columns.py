"""Pages of stored events as Arrow columns: where each is, what, when, whose, its state as JSON.

The state column holds, as JSON, what `events export` writes as an event's
state. Most events get there without being decoded into domain events: the
library's JSON transcoder stores a state as JSON in which ids are
``{"_type_":"uuid_hex",…}`` objects and times ``{"_type_":"datetime_iso",…}``
ones, so parsing it with msgspec (in C), writing those two as the text
`events export` gives them, taking out the envelope's timestamp and the class
version, and writing it again gives the same JSON document, at a fraction of
the cost of decoding. An event this cannot be trusted with is decoded and
written through `Export.record`, as `events export` writes it: one with another
transcoded value, an older class version to upcast, a state msgspec refuses,
and every event of a redacted export. With a cipher, each state is decrypted
first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    Notification,
    UUIDAsHex,
)

from companion.app.event_catalogue import Attributions, catalogue
from companion.app.event_log import SECRET_FIELDS, EventFilter, Export, to_json
from companion.app.redaction import Redaction

Row = tuple[int, Any, int, str, bytes]
"""(position, originator id, originator version, topic, state), as the log is read."""
DecodeFields = Callable[[str, Any, int, bytes], Any]
"""(topic, originator id, originator version, state) → the domain event the mapper makes."""

SCHEMA = pa.schema(
    [
        ("position", pa.int64()),
        ("event_id", pa.string()),  # stream id and version: unique, stable across exports
        ("stream_id", pa.string()),
        ("version", pa.int64()),
        ("type", pa.string()),  # the catalogue's Aggregate.Event
        ("time", pa.timestamp("us", tz="UTC")),
        ("user_id", pa.string()),
        ("character_id", pa.string()),
        ("text_chars", pa.int32()),  # the length of the state's `text`, when it has one
        ("state", pa.string()),
    ]
)


@dataclass(frozen=True)
class _Kind:
    """What the columns need of an event type."""

    name: str
    class_version: int  # 0 for a topic the catalogue does not know: always decoded


class EventColumns:
    """Turns pages of stored events into tables of `SCHEMA`, attributed and maybe redacted."""

    def __init__(
        self,
        mapper: Mapper[Any],
        decode: DecodeFields,
        attributions: Attributions,
        redaction: Redaction | None = None,
    ) -> None:
        self._decode = decode
        self._attributions = attributions
        self._export = Export(attributions, redaction)
        self._cipher, self._compressor = mapper.cipher, mapper.compressor
        transcoder = mapper.transcoder
        names = getattr(transcoder, "names", {})
        self._rewritable = (
            redaction is None
            and type(transcoder) is JSONTranscoder
            and type(names.get("uuid_hex")) is UUIDAsHex
            and type(names.get("datetime_iso")) is DatetimeAsISO
        )
        self._kinds = {
            t.topic: _Kind(t.qualname, getattr(t.event_class, "class_version", 1))
            for t in catalogue()
        }
        self._streams: dict[Any, tuple[str, str | None, str | None]] = {}
        self._loads = msgspec.json.Decoder().decode
        self._dumps = msgspec.json.Encoder().encode

    def table(self, rows: Sequence[Row], wanted: EventFilter = EventFilter()) -> pa.Table:
        """The events of `rows` that pass the filter's owner and time, in the order read."""
        if wanted.by_owner:
            owner = self._attributions.of
            rows = [row for row in rows if wanted.wants_owner(owner(row[1]))]
        if not rows:
            return SCHEMA.empty_table()
        table = self._rewritten(rows) if self._rewritable else self._decoded(rows)
        if wanted.since is not None:
            table = table.filter(pc.greater_equal(table["time"], _instant(wanted.since)))
        if wanted.until is not None:
            table = table.filter(pc.less(table["time"], _instant(wanted.until)))
        return table

    # -- the rewriting way ---------------------------------------------------------------

    def _rewritten(self, rows: Sequence[Row]) -> pa.Table:
        """Each stored state made plain JSON without decoding its event; the rest decoded."""
        loads, dumps = self._loads, self._dumps
        kinds, streams, stream_of = self._kinds, self._streams, self._stream
        clear = self._cipher is None and self._compressor is None
        secrets = tuple(SECRET_FIELDS)
        made: list[tuple[Any, ...]] = []
        others: list[Row] = []
        for row in rows:
            position, stream, version, topic, stored = row
            kind = kinds.get(topic) or self._kind(topic)
            try:
                state = loads(stored if clear else self._plain(stored))
                at = state.pop("timestamp")
                if (
                    type(at) is not dict
                    or at.get("_type_") != "datetime_iso"
                    or state.pop("class_version", 1) != kind.class_version
                ):
                    raise _NotPlain
                for key, value in state.items():
                    if type(value) is dict:
                        data = value.get("_data_")
                        # Nearly always an id: written at once, without a call.
                        if (
                            len(value) == 2
                            and type(data) is str
                            and len(data) == 32
                            and value.get("_type_") == "uuid_hex"
                        ):
                            state[key] = (
                                f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"
                            )
                        else:
                            state[key] = _plain(value)
                    elif type(value) is list:
                        state[key] = _plain(value)
                for name in secrets:
                    if name in state:
                        state[name] = "[redacted]"
                encoded = dumps(state)
                at = at["_data_"]
            except Exception:
                # Whatever this way cannot take (even a state it cannot parse) is decoded.
                others.append(row)
                continue
            # A UUID hashes in Python; its integer, in C.
            owner = streams.get(stream.int if type(stream) is UUID else stream) or stream_of(stream)
            text = state.get("text")
            length = len(text) if type(text) is str else None
            made.append((position, version, kind.name, at, length, encoded, *owner))
        if not made:
            return self._decoded(others)
        positions, versions, types, ats, chars, states, stream_ids, users, characters = zip(
            *made, strict=True
        )
        try:
            times = pa.array(ats, pa.string()).cast(SCHEMA.field("time").type)
        except pa.ArrowInvalid:  # a time Arrow does not read: the decoded event's is taken
            return self._decoded(rows)
        stream_column = pa.array(stream_ids, pa.string())
        version_column = pa.array(versions, pa.int64())
        table = pa.table(
            [
                pa.array(positions, pa.int64()),
                pc.binary_join_element_wise(
                    stream_column, pc.cast(version_column, pa.string()), ":"
                ),
                stream_column,
                version_column,
                pa.array(types, pa.string()),
                times,
                pa.array(users, pa.string()),
                pa.array(characters, pa.string()),
                pa.array(chars, pa.int32()),
                pa.array(states, pa.binary()).cast(pa.string()),
            ],
            schema=SCHEMA,
        )
        if not others:
            return table
        both = pa.concat_tables([table, self._decoded(others)])
        return both.take(pc.sort_indices(both["position"]))

    def _plain(self, state: bytes) -> bytes:
        """A state decrypted and decompressed."""
        if self._cipher is not None:
            state = self._cipher.decrypt(state)
        if self._compressor is not None:
            state = self._compressor.decompress(state)
        return state

    # -- the decoding way ----------------------------------------------------------------

    def _decoded(self, rows: Sequence[Row]) -> pa.Table:
        """Each event decoded and written as `events export` writes its record."""
        columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
        for position, stream, version, topic, state in rows:
            event = self._decode(topic, stream, version, state)
            record = self._export.record(
                Notification(stream, version, topic, state, position), event
            )
            stream_id = str(record["originator_id"])
            text = getattr(event, "text", None)
            columns["position"].append(position)
            columns["event_id"].append(f"{stream_id}:{version}")
            columns["stream_id"].append(stream_id)
            columns["version"].append(version)
            columns["type"].append(self._kind(topic).name)
            columns["time"].append(getattr(event, "timestamp", None))
            columns["user_id"].append(_text(record["user_id"]))
            columns["character_id"].append(_text(record["character_id"]))
            columns["text_chars"].append(len(text) if isinstance(text, str) else None)
            columns["state"].append(to_json(record["state"]))
        return pa.table(columns, schema=SCHEMA)

    # -- names ---------------------------------------------------------------------------

    def _kind(self, topic: str) -> _Kind:
        kind = self._kinds.get(topic)
        if kind is None:
            # An event class since renamed or removed: its topic's qualified name.
            kind = self._kinds[topic] = _Kind(topic.partition(":")[2] or topic, 0)
        return kind

    def _stream(self, stream: Any) -> tuple[str, str | None, str | None]:
        """A stream's id and owner as text, kept by the stream's integer when it is a UUID."""
        key = stream.int if type(stream) is UUID else stream
        found = self._streams.get(key)
        if found is None:
            owner = self._attributions.of(stream)
            found = (str(stream), _text(owner.user_id), _text(owner.character_id))
            self._streams[key] = found
        return found


class _NotPlain(Exception):
    """A stored state the rewriting does not take: the event is decoded instead."""


def _plain(item: Any) -> Any:
    """A stored JSON value as `events export` writes the decoded value: ids and times as text."""
    kind = type(item)
    if kind is dict:
        if len(item) == 2 and "_type_" in item and "_data_" in item:
            name, data = item["_type_"], item["_data_"]
            if name == "uuid_hex" and type(data) is str and len(data) == 32:
                return f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"
            if name == "datetime_iso" and type(data) is str:
                return data
            raise _NotPlain(name)
        return {key: _plain(value) for key, value in item.items()}
    if kind is list:
        return [_plain(value) for value in item]
    return item


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _instant(moment: datetime) -> pa.Scalar:
    return pa.scalar(moment, pa.timestamp("us", tz="UTC"))
