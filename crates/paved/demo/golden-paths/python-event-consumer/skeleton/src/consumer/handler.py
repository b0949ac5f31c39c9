"""What one event means: validation of the payload and the work it triggers."""
from __future__ import annotations

import json
from dataclasses import dataclass


class InvalidEvent(ValueError):
    """The event can never be handled; it goes to the dead-letter topic. `errors` name fields."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class StockChanged:
    event_id: str
    sku: str
    delta: int


def parse(value: bytes) -> StockChanged:
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidEvent([{"field": "body", "message": f"not JSON: {e}"}]) from None
    if not isinstance(data, dict):
        raise InvalidEvent([{"field": "body", "message": "must be a JSON object"}])
    errors = []
    event_id, sku, delta = data.get("id"), data.get("sku"), data.get("delta")
    if not isinstance(event_id, str) or not event_id.strip():
        errors.append({"field": "id", "message": "is required and must be a non-empty string"})
    if not isinstance(sku, str) or not (1 <= len(sku) <= 64):
        errors.append({"field": "sku", "message": "must be a string of 1 to 64 characters"})
    if isinstance(delta, bool) or not isinstance(delta, int) or abs(delta) > 1_000_000:
        errors.append({"field": "delta", "message": "must be an integer between -1000000 and 1000000"})
    if errors:
        raise InvalidEvent(errors)
    return StockChanged(event_id, sku, delta)


class Ledger:
    """The state the events build: stock per SKU. Events seen twice are applied once."""

    def __init__(self) -> None:
        self.stock: dict[str, int] = {}
        self._seen: set[str] = set()

    def apply(self, event: StockChanged) -> bool:
        if event.event_id in self._seen:
            return False
        self._seen.add(event.event_id)
        self.stock[event.sku] = self.stock.get(event.sku, 0) + event.delta
        return True
