"""Stored events into domain events, as the application's mapper does it, faster.

The library's JSON transcoder decodes with an ``object_hook``: a Python call for
every JSON object of every event, each checking for a ``{"_type_", "_data_"}``
pair, and UUIDs rebuilt through ``UUID.__init__``'s checks. A catch-up spends
most of its time there. This decoder parses with msgspec (in C, from the bytes,
about three times as fast as ``json.loads``), then visits only the values that
are objects or arrays, and rebuilds the two transcodings nearly every event
carries (UUIDs as hex, datetimes as ISO strings) directly. Anything else — other
transcodings, a cipher, a compressor, upcasting, a document msgspec refuses
where ``json`` would not (a lone surrogate, a number out of range) — goes the
library's way, so the events are equal to the mapper's. With a transcoder that
is not the library's JSON one, it is the mapper itself.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, cast
from uuid import UUID, SafeUUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    Notification,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
    find_id_convertor,
    pass_through_convertor,
)
from eventsourcing.utils import resolve_topic

Decode = Callable[[Notification], DomainEventProtocol[Any]]
DecodeFields = Callable[[str, Any, int, bytes], DomainEventProtocol[Any]]
"""(topic, originator_id, originator_version, state) → the domain event."""
_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown


def _uuid(hex_: str) -> UUID:
    # What UUID(hex_) makes, without its parsing of every accepted spelling.
    value = _new(UUID)
    _set(value, "int", int(hex_, 16))
    _set(value, "is_safe", _UNKNOWN)
    return value


def decoder_for(mapper: Mapper) -> Decode:  # type: ignore[type-arg]
    """A function from a notification to the domain event `mapper` would make of it."""
    if type(mapper.transcoder) is not JSONTranscoder:
        return mapper.to_domain_event
    decode = fields_decoder_for(mapper)
    return lambda n: decode(n.topic, n.originator_id, n.originator_version, n.state)


def fields_decoder_for(mapper: Mapper) -> DecodeFields:  # type: ignore[type-arg]
    """The same from a stored event's fields, as a read of the log gives them."""
    transcoder = mapper.transcoder
    if type(transcoder) is not JSONTranscoder:
        return lambda topic, originator_id, version, state: mapper.to_domain_event(
            StoredEvent(originator_id, version, topic, state)
        )
    names: dict[str, Transcoding] = transcoder.names
    fast: dict[str, Callable[[Any], Any]] = {}
    if type(names.get("uuid_hex")) is UUIDAsHex:
        fast["uuid_hex"] = _uuid
    if type(names.get("datetime_iso")) is DatetimeAsISO:
        fast["datetime_iso"] = datetime.fromisoformat

    def value(item: Any) -> Any:
        kind = type(item)
        if kind is dict:
            if len(item) == 2 and "_type_" in item and "_data_" in item:
                data = item["_data_"]
                quick = fast.get(item["_type_"])
                if quick is not None and type(data) is str:
                    return quick(data)
                return names[item["_type_"]].decode(value(data))
            return {key: value(inner) for key, inner in item.items()}
        if kind is list:
            return [value(inner) for inner in item]
        return item

    cipher, compressor = mapper.cipher, mapper.compressor
    loads = msgspec.json.decode
    # topic → (class, its version, the originator id's type, its convertor or None)
    classes: dict[str, tuple[type, int, type, Callable[[Any], Any] | None]] = {}

    def slow(topic: str, originator_id: Any, version: int, state: bytes) -> Any:
        return mapper.to_domain_event(StoredEvent(originator_id, version, topic, state))

    def decode(topic: str, originator_id: Any, version: int, state: bytes) -> Any:
        found = classes.get(topic)
        if found is None or found[2] is not type(originator_id):
            cls = resolve_topic(topic)
            convertor = find_id_convertor(cls, cast(Hashable, type(originator_id)))
            found = (
                cls,
                getattr(cls, "class_version", 1),
                type(originator_id),
                None if convertor is pass_through_convertor else convertor,
            )
            classes[topic] = found
        cls, class_version, _, convert = found
        try:
            plain = state
            if cipher:
                plain = cipher.decrypt(plain)
            if compressor:
                plain = compressor.decompress(plain)
            event_state: dict[str, Any] = loads(plain)
            for key, item in event_state.items():
                kind = type(item)
                if kind is dict:
                    # Nearly always a transcoded value: take it without a call.
                    quick = fast.get(item.get("_type_"))
                    if quick is not None and len(item) == 2:
                        data = item.get("_data_")
                        if type(data) is str:
                            event_state[key] = quick(data)
                            continue
                    event_state[key] = value(item)
                elif kind is list:
                    event_state[key] = value(item)
        except Exception:
            # The library's own message says which event could not be read.
            return slow(topic, originator_id, version, state)
        if event_state.pop("class_version", 1) != class_version:
            return slow(topic, originator_id, version, state)  # an older shape to upcast
        event_state["originator_id"] = originator_id if convert is None else convert(originator_id)
        event_state["originator_version"] = version
        event: Any = _new(cls)
        _set(event, "__dict__", event_state)
        return event

    return decode
