"""Every Redis key analytics writes, with what it holds and how long it lives (README, Retention).

Aggregates (`day`, `team_day`, `handoffs`) name no customer and live `ANALYTICS_RETENTION_DAYS`; the
working state that names a customer or a message (`customer`, `chat`, `message`) expires soon after the
conversation, like the raw records it was read from. Days are UTC calendar days (YYYY-MM-DD).
"""

PREFIX = "{wa}:analytics:"  # the hash tag `{wa}`: a step writes its keys together with its cursors
CLOCK = PREFIX + "clock"  # the time (`at`) of the newest event read: sessions idle before it minus the gap end
OPEN_SESSIONS = PREFIX + "open-sessions"  # zset customer -> last activity of their open conversation
META = PREFIX + "meta"  # hash: currency of the cost ledger's charges


def cursor(source: str) -> str:
    """The last entry read from a source (a stream id, or the last CSAT rating id); kept for good."""
    return f"{PREFIX}cursor:{source}"


def day(date: str) -> str:
    """Hash of a day's counters (field names in analytics/fold.py)."""
    return f"{PREFIX}day:{date}"


def team_day(date: str, team: str) -> str:
    """Hash of a day's handoff counters of one team (the team the bot escalated to)."""
    return f"{PREFIX}day:{date}:team:{team}"


def handoffs(date: str) -> str:
    """List of the resolved handoffs escalated that day (JSON: team, reason, agents and times, no customer)."""
    return f"{PREFIX}handoffs:{date}"


def customer(wa_id: str) -> str:
    """A customer's current and previous conversation (JSON), until the durable window after the last one."""
    return f"{PREFIX}customer:{wa_id}"


def chat(chat_id: str) -> str:
    """An open handoff's times (JSON), until it is resolved (at most 30 days)."""
    return f"{PREFIX}chat:{chat_id}"


def message(wamid: str) -> str:
    """An outbound message's send day and furthest delivery stage (JSON), 30 days like its delivery record."""
    return f"{PREFIX}msg:{wamid}"


# The NLU's records of customer messages: not aggregates (rebuild() leaves them), and each names a message.
NLU_PREFIX = PREFIX + "nlu:"
REVIEW = NLU_PREFIX + "review"  # zset wamid -> time: the messages kept for the designers' page


def nlu_recorded(wamid: str) -> str:
    """That a message's `nlu_result` event was written (exactly once per wamid), 8 days like its claim."""
    return f"{NLU_PREFIX}recorded:{wamid}"


def review_message(wamid: str) -> str:
    """Hash: the text of a message that fell back or scored low, its NLU result and the messages around it
    (the customer's number too, so that an erasure finds it); `ANALYTICS_REVIEW_TEXT_DAYS`."""
    return f"{NLU_PREFIX}message:{wamid}"


RECORDED_SECONDS = 8 * 24 * 3600
CHAT_SECONDS = 30 * 24 * 3600
MESSAGE_SECONDS = 30 * 24 * 3600
