"""What the bot and the WhatsApp channel may know of the handoff service, and the service keeps to.

The ownership states of a customer's conversation, the escalation reasons, the Redis key of the owner
record the channel reads, and the paths of the API the bot calls. It imports nothing, so the bot importing
it loads neither Flask nor the rest of the handoff package (tests/handoff/test_contract.py checks both).
What it leaves out: how the service moves a conversation between owners (handoff/state.py) and the
other keys it keeps (handoff/keys.py).
"""

# Who owns a customer's conversation: the bot, the queue of a team, or an agent.
BOT = "bot"
QUEUED = "queued"
AGENT = "agent"
OWNER_STATES = (BOT, QUEUED, AGENT)
WITH_HANDOFF = (QUEUED, AGENT)  # the customer's messages go to the handoff service, never to the bot

# Why the bot escalates (`reason` of POST /api/escalations).
CUSTOMER_REQUEST = "customer_request"  # the customer asked for a person
REASONS = (CUSTOMER_REQUEST, "fallback", "complaint", "backend_failure", "keyword", "language")

KEY_PREFIX = "{wa}:handoff:"  # every Redis key of the handoff service starts with it ({wa}: the hash tag)


def owner_key(wa_id: str) -> str:
    """Hash: who owns the customer's conversation now (state bot|queued|agent, chat_id, agent, since);
    no hash means the bot."""
    return f"{KEY_PREFIX}owner:{wa_id}"


# The API the bot and the channel call, with the integration token (handoff/openapi.yaml).
ESCALATIONS_PATH = "/api/escalations"
CUSTOMER_MESSAGES_ROUTE = "/api/internal/customers/<wa_id>/messages"  # the channel forwards a message


def customer_messages_path(wa_id: str) -> str:
    return CUSTOMER_MESSAGES_ROUTE.replace("<wa_id>", wa_id)
