"""The figures of a date range, computed from the daily aggregates (the README's "Analytics" defines each).

`read_range` fetches the aggregates from Redis (and counts the service windows open at `now`); `compute` is
pure. Rates are None when their denominator is 0; percentiles are nearest-rank (p50 of 1, 2, 3, 4 is 2).
Office-hours times need the business's hours: pass `open_seconds(start, end)`
(stack.office_hours.OfficeHours.open_seconds); without it they are None.
"""

import json
import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional

import redis

from analytics import keys
from analytics.config import AnalyticsConfig
from whatsapp_cloud.policy.store import open_windows_program
from whatsapp_cloud.redis_programs import run_sync

OpenSeconds = Callable[[datetime, datetime], float]
MAX_DAYS = 366  # one request reads at most a year of days


class InvalidRange(ValueError):
    pass


@dataclass
class RangeData:
    start: date
    end: date  # inclusive
    days: Dict[str, Dict[str, int]]  # date -> counters (the team's handoff counters when a team is given)
    all_days: Dict[str, Dict[str, int]]  # date -> counters of the whole number
    handoffs: List[Dict[str, Any]] = field(default_factory=list)
    currency: str = ""
    clock: float = 0.0  # the newest event the aggregator has read
    team: str = ""
    open_conversations: int = 0  # not ended as of the newest event read (with a person included)
    open_windows: int = 0  # customers whose service window with the business number is open at the time read


def parse_range(start: str, end: str) -> tuple:
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except (TypeError, ValueError) as exc:
        raise InvalidRange("from and to must be dates, YYYY-MM-DD") from exc
    if last < first:
        raise InvalidRange("to must not be before from")
    if (last - first).days >= MAX_DAYS:
        raise InvalidRange(f"at most {MAX_DAYS} days at a time")
    return first, last


def read_range(store: redis.Redis, first: date, last: date, team: str = "", number: str = "",
               now: Optional[float] = None) -> RangeData:
    """The range's aggregates; the windows open now are those of `number` (AnalyticsConfig.phone_number_id)
    at `now` (the wall clock unless given), read from the policy's index, not from every customer's key."""
    dates = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    pipe = store.pipeline(transaction=False)
    for day in dates:
        pipe.hgetall(keys.day(day))
        pipe.hgetall(keys.team_day(day, team) if team else keys.day(day))
        pipe.lrange(keys.handoffs(day), 0, -1)
    pipe.hget(keys.META, "currency")
    pipe.get(keys.CLOCK)
    pipe.zcard(keys.OPEN_SESSIONS)
    answers = pipe.execute()
    all_days, days, handoffs = {}, {}, []
    for n, day in enumerate(dates):
        all_days[day] = _ints(answers[3 * n])
        days[day] = _ints(answers[3 * n + 1])
        handoffs += [h for h in map(json.loads, answers[3 * n + 2]) if not team or h.get("team") == team]
    currency, clock, open_now = answers[-3:]
    windows = run_sync(store, open_windows_program(number, time.time() if now is None else now))
    return RangeData(first, last, days, all_days, handoffs, _str(currency or ""), float(clock or 0), team,
                     int(open_now or 0), windows)


def compute(data: RangeData, config: Optional[AnalyticsConfig] = None,
            open_seconds: Optional[OpenSeconds] = None) -> Dict[str, Any]:
    config = config or AnalyticsConfig()
    total = _sum(data.all_days.values())
    team = _sum(data.days.values())
    customer, ended, contained = total["sessions:customer"], total["ended:customer"], total["contained"]
    durable = contained - total["recontacted"]
    cost = _cost(total, data.currency)
    resolved = contained + team["resolved"] if not data.team else team["resolved"]
    durable_until = datetime.combine(data.end + timedelta(days=1), datetime.min.time(), timezone.utc).timestamp()
    return {
        "from": data.start.isoformat(), "to": data.end.isoformat(), "team": data.team or None,
        # The time of the newest event the aggregates include.
        "aggregated_until": datetime.fromtimestamp(data.clock, timezone.utc).isoformat() if data.clock else None,
        "conversations": {
            "customer_initiated": customer, "proactive": total["sessions:proactive"], "ended": ended,
            "by_day": [{"date": day, "customer_initiated": c["sessions:customer"], "proactive": c["sessions:proactive"]}
                       for day, c in sorted(data.all_days.items())],
        },
        "containment_rate": _rate(contained, ended),
        "durable_containment_rate": _rate(durable, ended),
        # Final once the durable window after the range's last day has passed in the streams read.
        "durable_containment_final": data.clock >= durable_until + config.durable_seconds,
        "handoff_rate": _rate(total["handed:customer"], customer),
        "handoffs": team["handoffs"],
        "handoff_reasons": _prefixed(team, "handoff_reason:"),
        "handoff_intents": _prefixed(team, "handoff_intent:"),
        "queue_wait_seconds": _percentiles(_spans(data.handoffs, "queued_at", "claimed_at")),
        "agent_first_response_seconds": _percentiles(_spans(data.handoffs, "queued_at", "first_reply_at")),
        "agent_first_response_office_seconds": (
            _percentiles(_spans(data.handoffs, "queued_at", "first_reply_at", open_seconds)) if open_seconds else None),
        "resolution_seconds": _percentiles(_spans(data.handoffs, "queued_at", "resolved_at")),
        "agents": _by(data.handoffs, "first_agent", open_seconds),
        "teams": _by(data.handoffs, "team", open_seconds),
        "csat": {who: _csat(total, who) for who in ("bot", "agent")},
        # Customer messages that fell back / customer messages the bot's NLU read (`nlu_result` events).
        "fallback_rate": _rate(total["nlu:fell_back"], total["nlu:messages"]),
        "nlu": _nlu(total, config),
        "open_now": {"conversations": data.open_conversations, "windows": data.open_windows},
        "delivery": {
            "sent": total["delivery:sent"], "delivered": total["delivery:delivered"], "read": total["delivery:read"],
            "failed": total["delivery:failed"], "refused": total["delivery:refused"],
            "failed_by_code": _prefixed(total, "delivery:failed_code:"),  # the failed and the refused
        },
        "conversations_by_entry_point": _prefixed(total, "entry_point:"),
        "replies_by_campaign": _prefixed(total, "campaign_reply:"),  # campaign id (or notification) -> replies
        "replies_by_template": _prefixed(total, "template_reply:"),
        "template_fallbacks": _prefixed(total, "template_fallback:"),
        "policy_holds": {"deferred": _prefixed(total, "held:deferred:"), "blocked": _prefixed(total, "held:blocked:")},
        "cost": {
            **cost,
            "per_contained": _money(cost["total_micros"], contained),
            "per_resolved": _money(cost["total_micros"], resolved),
            "meta_priced": _prefixed(total, "meta_priced:"),
            "by_day": [{"date": day, **{k: v for k, v in _cost(c, data.currency).items()
                                        if k in ("total", "by_category")}}
                       for day, c in sorted(data.all_days.items())],
        },
    }


TOP_INTENTS = 10


def _nlu(total: Dict[str, int], config: AnalyticsConfig) -> Dict[str, Any]:
    intents = _prefixed(total, "nlu:intent:")
    top = sorted(intents.items(), key=lambda item: (-item[1], item[0]))[:TOP_INTENTS]
    return {"messages": total["nlu:messages"], "fell_back": total["nlu:fell_back"],
            "fell_back_by": {"nlu": total["nlu:fell_back:nlu"], "core": total["nlu:fell_back:core"]},
            "out_of_scope": total["nlu:out_of_scope"], "low_confidence": total["nlu:low"],
            "low_confidence_rate": _rate(total["nlu:low"], total["nlu:messages"]),
            "low_confidence_threshold": config.low_confidence,
            "top_intents": [{"intent": name, "messages": n} for name, n in top]}


def _csat(total: Dict[str, int], who: str) -> Dict[str, Any]:
    asked, ratings, score = total[f"csat:{who}:asked"], total[f"csat:{who}:ratings"], total[f"csat:{who}:score"]
    answered = total[f"csat:{who}:answered"]
    return {"asked": asked, "ratings": ratings, "answered": answered, "response_rate": _rate(answered, asked),
            "average": round(score / ratings, 2) if ratings else None}


def _cost(counters: Dict[str, int], currency: str) -> Dict[str, Any]:
    categories: Dict[str, Dict[str, Any]] = {}
    for name, value in counters.items():
        if name.startswith("cost:"):
            _, category, what = name.split(":", 2)
            categories.setdefault(category, {"messages": 0, "charged": 0, "micros": 0})[what] = value
    micros = sum(c["micros"] for c in categories.values())
    return {
        "currency": currency or None, "total": micros / 1_000_000, "total_micros": micros,
        "by_category": {name: {"messages": c["messages"], "charged": c["charged"], "amount": c["micros"] / 1_000_000}
                        for name, c in sorted(categories.items())},
    }


def _money(micros: int, count: int) -> Optional[float]:
    return round(micros / count / 1_000_000, 6) if count else None


def _spans(handoffs: List[Dict[str, Any]], start: str, end: str,
           open_seconds: Optional[OpenSeconds] = None) -> List[float]:
    spans = []
    for handoff in handoffs:
        if handoff.get(start) is None or handoff.get(end) is None:
            continue
        if open_seconds is None:
            spans.append(float(handoff[end]) - float(handoff[start]))
        else:
            spans.append(open_seconds(_time(handoff[start]), _time(handoff[end])))
    return spans


def _by(handoffs: List[Dict[str, Any]], name: str, open_seconds: Optional[OpenSeconds]) -> Dict[str, Any]:
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for handoff in handoffs:
        if handoff.get(name):
            groups.setdefault(handoff[name], []).append(handoff)
    def office(group: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        return _percentiles(_spans(group, "queued_at", "first_reply_at", open_seconds)) if open_seconds else None

    return {key: {"handoffs": len(group),
                  "first_response_seconds": _percentiles(_spans(group, "queued_at", "first_reply_at")),
                  "first_response_office_seconds": office(group),
                  "resolution_seconds": _percentiles(_spans(group, "queued_at", "resolved_at"))}
            for key, group in sorted(groups.items())}


def percentile(values: List[float], p: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _percentiles(values: List[float]) -> Dict[str, Any]:
    return {"p50": percentile(values, 50), "p90": percentile(values, 90), "count": len(values)}


def _rate(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def _prefixed(counters: Dict[str, int], prefix: str) -> Dict[str, int]:
    return {name[len(prefix):]: value for name, value in sorted(counters.items())
            if name.startswith(prefix) and value}


def _sum(days: Any) -> Dict[str, int]:
    total: Dict[str, int] = {}
    for counters in days:
        for name, value in counters.items():
            total[name] = total.get(name, 0) + value
    return _Zero(total)


class _Zero(dict):
    def __missing__(self, key: str) -> int:
        return 0


def _ints(raw: Dict[Any, Any]) -> Dict[str, int]:
    return _Zero({_str(k): int(v) for k, v in raw.items()})


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _time(at: Any) -> datetime:
    return datetime.fromtimestamp(float(at), timezone.utc)
