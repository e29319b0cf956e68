"""Status webhooks (sent, delivered, read, failed) for what the business sent, as Meta sends them.

A worker thread delivers them in the background, like Meta does, after `delay` seconds each.
Modes reproduce Meta's quirks on demand: read without delivered, out of order, duplicated.
"""

import queue
import threading
import time
from typing import Any, Callable, Dict, List, Optional

Deliver = Callable[[Dict[str, Any]], Any]


def pricing(kind: str, category: str = "") -> Dict[str, Any]:
    """Per-message pricing as Meta reports it: service messages in the window are free."""
    if kind == "template":
        return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category or "utility"}
    return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}


def status_item(wamid: str, recipient: str, status: str, *, kind: str = "text", category: str = "",
                errors: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    item: Dict[str, Any] = {
        "id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": recipient,
    }
    if status == "failed":
        item["errors"] = errors or []
    else:
        item["pricing"] = pricing(kind, category)
    return item


def status_envelope(waba_id: str, phone_number_id: str, display: str, recipient: str,
                    item: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": display, "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": recipient}],
            "statuses": [item],
        }, "field": "messages"}]}],
    }


class StatusReporter:
    def __init__(self, deliver: Deliver, envelope: Callable[[str, Dict[str, Any]], Dict[str, Any]],
                 delay: float = 0.2) -> None:
        self.deliver = deliver
        self.envelope = envelope
        self.delay = delay
        self.mode = "normal"  # normal | read_without_delivered | out_of_order | duplicated
        self._queue: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        threading.Thread(target=self._work, daemon=True, name="status-webhooks").start()

    def sent(self, wamid: str, recipient: str, kind: str, category: str = "") -> None:
        if self.mode == "read_without_delivered":
            statuses = ["sent", "read"]
        elif self.mode == "out_of_order":
            statuses = ["sent", "read", "delivered"]
        elif self.mode == "duplicated":
            statuses = ["sent", "sent", "delivered", "delivered", "read", "read"]
        else:
            statuses = ["sent", "delivered", "read"]
        for status in statuses:
            self._queue.put({"recipient": recipient, "item": status_item(wamid, recipient, status, kind=kind,
                                                                       category=category)})

    def failed(self, wamid: str, recipient: str, code: int, title: str, details: str) -> None:
        error = {"code": code, "title": title, "message": title, "error_data": {"details": details}}
        self._queue.put({"recipient": recipient, "item": status_item(wamid, recipient, "failed", errors=[error])})

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            time.sleep(self.delay)
            try:
                self.deliver(self.envelope(job["recipient"], job["item"]))
            except Exception:  # the bot being down must not stop the stand-in; Meta would retry later
                pass


