"""Graph API faults drawn at random, as a flaky Meta would serve them (the chaos proofs): a share of sends
answered 500, a share 130429 (throughput), a share that times out, bursts of 131056 (pair rate) for one
customer, and customers whose messages Meta can never deliver (a permanent error).

A faulted send is never delivered: a timeout here means the request was not processed (the stand-in
waits, then answers 503 to a client that stopped listening), so a retry is the only copy that arrives.
"""

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

RATE_KEYS = ("http_500", "throughput", "timeout", "pair_burst")


@dataclass
class Fault:
    http_status: int
    code: Optional[int]  # None: not a Graph error envelope (an HTML 5xx page)
    message: str = "Injected fault"
    delay: float = 0.0  # seconds to wait before answering (a timeout)


@dataclass
class FaultRates:
    http_500: float = 0.0
    throughput: float = 0.0  # 130429
    timeout: float = 0.0
    pair_burst: float = 0.0  # chance that a send starts a burst of 131056 for its recipient
    burst_length: int = 3
    timeout_seconds: float = 12.0  # longer than the client's timeout
    permanent: Dict[str, int] = field(default_factory=dict)  # wa_id -> the error code Meta always answers
    seed: Optional[int] = None
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _bursts: Dict[str, int] = field(default_factory=dict, repr=False)  # wa_id -> 131056 answers still due
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    served: Dict[str, int] = field(default_factory=dict)  # fault kind -> how many were served

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> "FaultRates":
        """From a JSON body; ValueError with the reason for anything out of range."""
        rates: Dict[str, float] = {}
        for key in RATE_KEYS:
            value = float(data.get(key, 0.0))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} must be a share between 0 and 1")
            rates[key] = value
        if sum(rates.values()) > 1.0:
            raise ValueError("the shares add up to more than 1")
        permanent = data.get("permanent", {})
        if not isinstance(permanent, dict) or not all(str(code).isdigit() for code in permanent.values()):
            raise ValueError("permanent maps a wa_id to a Graph API error code")
        made = cls(**rates, burst_length=int(data.get("burst_length", 3)),
                   timeout_seconds=float(data.get("timeout_seconds", 12.0)),
                   permanent={str(k): int(v) for k, v in permanent.items()}, seed=data.get("seed"))
        made._random.seed(made.seed)
        return made

    def draw(self, wa_id: str) -> Optional[Fault]:
        """The fault this send gets, or None to serve it."""
        with self._lock:
            fault = self._draw(wa_id)
            if fault is not None:
                kind = "timeout" if fault.delay else str(fault.code or fault.http_status)
                self.served[kind] = self.served.get(kind, 0) + 1
            return fault

    def _draw(self, wa_id: str) -> Optional[Fault]:
        if wa_id in self.permanent:
            return Fault(400, self.permanent[wa_id], "Message undeliverable")
        if self._bursts.get(wa_id):
            self._bursts[wa_id] -= 1
            return Fault(400, 131056, "(Business Account, Consumer Account) pair rate limit hit")
        roll = self._random.random()
        for kind in RATE_KEYS:
            share = getattr(self, kind)
            if roll < share:
                return self._fault(kind, wa_id)
            roll -= share
        return None

    def _fault(self, kind: str, wa_id: str) -> Fault:
        if kind == "http_500":
            return Fault(500, None)
        if kind == "throughput":
            return Fault(400, 130429, "Rate limit hit")
        if kind == "timeout":
            return Fault(503, None, delay=self.timeout_seconds)
        self._bursts[wa_id] = self.burst_length - 1
        return Fault(400, 131056, "(Business Account, Consumer Account) pair rate limit hit")

    def wait(self, fault: Fault) -> None:
        if fault.delay:
            time.sleep(fault.delay)
