"""The fake gateway's books: charges, refunds and the answers stored per idempotency key.

Pure in-memory state without I/O. The server calls these methods between two awaits, so
on one event loop a check-then-record is atomic: two concurrent requests with one key
can never both record a charge.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

JSON = dict[str, Any]


def fingerprint(operation: str, body: JSON) -> bytes:
    """What must be identical for a replay: the operation and the canonical body."""
    return operation.encode() + b" " + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: bytes
    status: int
    body: JSON


@dataclass
class Ledger:
    charges: dict[str, JSON] = field(default_factory=dict)
    refunds: dict[str, JSON] = field(default_factory=dict)
    answers: dict[str, StoredAnswer] = field(default_factory=dict)

    def stored(self, key: str) -> StoredAnswer | None:
        return self.answers.get(key)

    def store(self, key: str, print_: bytes, status: int, body: JSON) -> None:
        self.answers[key] = StoredAnswer(print_, status, body)

    def record_charge(
        self,
        *,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str | None,
        metadata: dict[str, str],
    ) -> JSON:
        charge: JSON = {
            "id": "ch_" + secrets.token_hex(12),
            "object": "charge",
            "status": "succeeded",
            "amount": amount,
            "currency": currency,
            "idempotency_key": idempotency_key,
            "description": description,
            "metadata": metadata,
            "amount_refunded": 0,
            "refunded": False,
            "created": int(time.time()),
        }
        self.charges[charge["id"]] = charge
        return dict(charge)

    def charges_with_key(self, idempotency_key: str) -> list[JSON]:
        return [dict(c) for c in self.charges.values() if c["idempotency_key"] == idempotency_key]

    def refundable(self, charge_id: str) -> int | None:
        """Amount still refundable on the charge, or None when there is no such charge."""
        charge = self.charges.get(charge_id)
        if charge is None:
            return None
        remaining: int = charge["amount"] - charge["amount_refunded"]
        return remaining

    def record_refund(self, *, charge_id: str, amount: int, idempotency_key: str) -> JSON:
        charge = self.charges[charge_id]
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund: JSON = {
            "id": "re_" + secrets.token_hex(12),
            "object": "refund",
            "status": "succeeded",
            "charge_id": charge_id,
            "amount": amount,
            "idempotency_key": idempotency_key,
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return dict(refund)

    def snapshot(self) -> JSON:
        return {
            "charges": [dict(c) for c in self.charges.values()],
            "refunds": [dict(r) for r in self.refunds.values()],
        }

    def clear(self) -> None:
        self.charges.clear()
        self.refunds.clear()
        self.answers.clear()
