"""A KPI report as plain data: nested for JSON, flat (one row per period) for CSV."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any
from uuid import UUID


def plain(value: Any) -> Any:
    """Dates as ISO strings, ids as strings, dataclasses as dicts, all the way down."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def flat(period: Any, label: str | None = None) -> dict[str, Any]:
    """One period's KPIs (a KpiPeriod) in one level: nested figures get their key as a prefix."""
    row: dict[str, Any] = {"period": label or period.start.isoformat()}
    for name, value in plain(period).items():
        if isinstance(value, dict):
            row.update({f"{name}_{key}": inner for key, inner in value.items()})
        else:
            row[name] = value
    return row


def flat_rows(report: Any) -> list[dict[str, Any]]:
    """Every period of a KpiReport, then the whole range as the row named "total"."""
    return [flat(period) for period in report.periods] + [flat(report.total, "total")]
