"""The handoff service's Prometheus metrics: how many chats wait in each team's queue, and how many are open
(queued or with an agent), read from Redis when /metrics is scraped (every worker answers the same)."""

import prometheus_client
import redis
from prometheus_client import Gauge

from handoff import keys
from handoff.teams import TEAMS

QUEUED = Gauge("handoff_queue_length", "Chats waiting for an agent, by team", ["team"])
OPEN = Gauge("handoff_open_chats", "Chats queued or with an agent")
SLA_BREACHED = Gauge("handoff_sla_breached_chats", "Chats whose response time was missed")


def latest(store: redis.Redis) -> bytes:
    """The metrics in Prometheus's text format, the gauges refreshed first."""
    with store.pipeline(transaction=False) as pipe:
        for team in TEAMS:
            pipe.zcard(keys.queue(team))
        pipe.zcard(keys.ALL_OPEN)
        pipe.zcard(keys.SLA_BREACHED)
        *queued, open_chats, breached = pipe.execute()
    for team, length in zip(TEAMS, queued, strict=False):
        QUEUED.labels(team).set(length)
    OPEN.set(open_chats)
    SLA_BREACHED.set(breached)
    return prometheus_client.generate_latest()
