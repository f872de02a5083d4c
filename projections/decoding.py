"""Stored events into domain events, as the application's mapper does it, faster.

The library's JSON transcoder decodes with an ``object_hook``: a Python call for
every JSON object of every event, each checking for a ``{"_type_", "_data_"}``
pair, and UUIDs rebuilt through ``UUID.__init__``'s checks. A catch-up spends
most of its time there. This decoder parses with plain ``json.loads``, then
visits only the values that are objects or arrays, and rebuilds the two
transcodings nearly every event carries (UUIDs as hex, datetimes as ISO
strings) directly. Anything else — other transcodings, a cipher, a compressor,
upcasting — goes the library's way, so the events are equal to the mapper's.
With a transcoder that is not the library's JSON one, it is the mapper itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, cast
from uuid import UUID, SafeUUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    Notification,
    Transcoding,
    UUIDAsHex,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

Decode = Callable[[Notification], DomainEventProtocol[Any]]
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
    transcoder = mapper.transcoder
    if type(transcoder) is not JSONTranscoder:
        return mapper.to_domain_event
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
    container = (dict, list)
    loads = json.JSONDecoder().decode
    classes: dict[tuple[str, type], tuple[type, int, Callable[[Any], Any]]] = {}

    def decode(notification: Notification) -> DomainEventProtocol[Any]:
        originator_id = notification.originator_id
        found = classes.get((notification.topic, type(originator_id)))
        if found is None:
            cls = resolve_topic(notification.topic)
            convert = find_id_convertor(cls, cast(Hashable, type(originator_id)))
            found = (cls, getattr(cls, "class_version", 1), convert)
            classes[(notification.topic, type(originator_id))] = found
        cls, class_version, convert = found
        state = notification.state
        try:
            if cipher:
                state = cipher.decrypt(state)
            if compressor:
                state = compressor.decompress(state)
            event_state: dict[str, Any] = loads(state.decode())
            for key, item in event_state.items():
                if type(item) in container:
                    event_state[key] = value(item)
        except Exception:
            # The library's own message says which event could not be read.
            return mapper.to_domain_event(notification)
        if "class_version" in event_state:
            if event_state.pop("class_version") != class_version:
                return mapper.to_domain_event(notification)  # an older shape to upcast
        elif class_version != 1:
            return mapper.to_domain_event(notification)
        event_state["originator_id"] = convert(originator_id)
        event_state["originator_version"] = notification.originator_version
        event: Any = _new(cls)
        _set(event, "__dict__", event_state)
        return event  # type: ignore[no-any-return]

    return decode
