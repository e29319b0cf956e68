"""What the business sent, in order, with a blocking wait for new messages."""

import threading
import time
from typing import Any, Dict, List, Optional


class Outbox:
    def __init__(self) -> None:
        self._records: List[Dict[str, Any]] = []
        self._changed = threading.Condition()

    def add(self, wamid: str, to: str, message: Dict[str, Any]) -> Dict[str, Any]:
        with self._changed:
            record = {
                "seq": len(self._records) + 1,
                "wamid": wamid,
                "to": to,
                "type": message.get("type"),
                "message": message,
                "sent_at": time.time(),
            }
            self._records.append(record)
            self._changed.notify_all()
            return record

    def after(self, seq: int, to: Optional[str] = None, wait: float = 0.0) -> List[Dict[str, Any]]:
        """Records newer than `seq` (for `to`, if given); waits up to `wait` seconds for one."""
        deadline = time.monotonic() + wait
        with self._changed:
            while True:
                found = [r for r in self._records[seq:] if to is None or r["to"] == to]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                self._changed.wait(remaining)

    @property
    def last_seq(self) -> int:
        with self._changed:
            return len(self._records)
