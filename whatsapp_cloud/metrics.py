"""Prometheus metrics of the WhatsApp side: what came in, what went out, what was refused."""

from prometheus_client import Counter, Histogram

WEBHOOKS = Counter(
    "whatsapp_webhooks_total",
    "Webhook POSTs by outcome (accepted, bad_signature, missing_signature, too_large, malformed, unavailable)",
    ["outcome"],
)
WEBHOOK_ACK_SECONDS = Histogram(
    "whatsapp_webhook_ack_seconds",
    "Time to answer an accepted webhook",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WEBHOOKS_DEAD = Counter(
    "whatsapp_webhooks_dead_total",
    "Webhook stream entries moved to the dead letters (wa:webhooks:dead), by why: malformed (never a webhook), "
    "failed (an item failed in a way a retry cannot fix), exhausted (failed max_attempts times)",
    ["reason"],
)
WEBHOOK_ITEM_ERRORS = Counter(
    "whatsapp_webhook_item_errors_total", "Items of accepted webhooks that could not be read (recorded, skipped)"
)
CONSUMER_ERRORS = Counter(
    "whatsapp_consumer_errors_total", "Unexpected errors in the webhook consumer loop (logged, the loop goes on)"
)
CONSUMER_RESTARTS = Counter("whatsapp_consumer_restarts_total", "Webhook consumer tasks restarted after they ended")
HANDOFF_FORWARDS = Counter(
    "whatsapp_handoff_forwards_total",
    "Customer messages given to the handoff service, by result (forwarded, resolved, unreachable)",
    ["result"],
)
INBOUND = Counter(
    "whatsapp_inbound_messages_total",
    "Inbound messages by type and what became of them (turn, recorded, duplicate, failed, retry)",
    ["type", "result"],
)
STATUSES = Counter("whatsapp_status_updates_total", "Status webhooks applied, by status", ["status"])
OUTBOUND = Counter(
    "whatsapp_outbound_messages_total",
    "Outbound messages by result (sent, dead, duplicate_skipped) and Meta error code",
    ["result", "code"],
)
OUTBOUND_ATTEMPTS = Counter("whatsapp_outbound_attempts_total", "Send attempts, retries included")
PRICING_MISMATCHES = Counter(
    "whatsapp_pricing_mismatches_total",
    "Status pricing objects that disagree with the computed charge, by field (category, type, billable, model)",
    ["field"],
)


POLICY_DECISIONS = Counter(
    "whatsapp_policy_decisions_total",
    "Outbound policy decisions (send_session, send_template, defer, block)",
    ["decision"],
)
POLICY_HELD = Counter(
    "whatsapp_policy_held_total",
    "Outbound messages deferred or blocked by the policy, by reason (window_closed, no_opt_in, opted_out, "
    "messaging_limit, template_unusable)",
    ["decision", "reason"],
)
POLICY_FLUSHED = Counter("whatsapp_policy_flushed_total", "Deferred messages sent after all", ["trigger"])
TURN_SECONDS = Histogram(
    "whatsapp_turn_seconds",
    "One customer message through Rasa: NLU, policies, actions and the replies handed to the sender",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
UNANSWERED_TURNS = Counter(
    "whatsapp_unanswered_turns_total",
    "Turns that produced no reply (a custom action failed) and got the degraded answer instead",
)
