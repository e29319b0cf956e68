"""Meta's send limits, counted in memory: throughput per number and the per-customer pair rate."""

import threading
import time
from collections import defaultdict, deque
from typing import Deque, Dict, Optional


class RateLimits:
    def __init__(self, per_second: float = 80, pair_burst: int = 45, pair_window_seconds: float = 6) -> None:
        self.per_second = per_second
        self.pair_burst = pair_burst
        self.pair_window = pair_window_seconds
        self._all: Deque[float] = deque()
        self._pairs: Dict[str, Deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, recipient: str) -> Optional[str]:
        """None and count the send, or the limit it would break ("throughput" or "pair")."""
        now = time.monotonic()
        with self._lock:
            _drop_before(self._all, now - 1.0)
            pair = self._pairs[recipient]
            _drop_before(pair, now - self.pair_window)
            if len(self._all) >= self.per_second:
                return "throughput"
            if len(pair) >= self.pair_burst:
                return "pair"
            self._all.append(now)
            pair.append(now)
        return None


def _drop_before(times: Deque[float], cutoff: float) -> None:
    while times and times[0] < cutoff:
        times.popleft()
