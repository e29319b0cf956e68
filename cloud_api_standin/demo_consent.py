"""Demo customers need an opt-in, as any real customer does, for templates to reach them.

When the stand-in starts with the system's Redis (make run), the default `make say` customer gets a
checkout_page opt-in for order updates and offers, unless the ledger already has a record for them
(so an opt-out made in the demo survives restarts).
"""

import logging
from typing import Mapping

import redis

from cloud_api_standin.say import DEFAULT_CUSTOMER
from stack import components
from whatsapp_cloud.policy.consent import SCOPES
from whatsapp_cloud.policy.store import SyncPolicyStore

logger = logging.getLogger(__name__)

WORDING = ("[x] Send me order and delivery updates and offers from Acme Shop on WhatsApp. "
           "Reply STOP at any time to unsubscribe.")


def seed(env: Mapping[str, str], customer: str = DEFAULT_CUSTOMER) -> bool:
    """Record the demo opt-in if the customer has no consent record; True if it did."""
    if not env.get("REDIS_URL"):
        return False
    store = SyncPolicyStore(components.redis_client(env), components.policy_config(env))
    try:
        if store.snapshot(customer).state.consent.records:
            return False
        store.record_consent(customer, "in", SCOPES, "checkout_page", WORDING)
    except redis.RedisError as exc:
        logger.warning("could not seed the demo customer's opt-in: %s", exc)
        return False
    logger.info("demo customer %s opted in at the checkout page", customer)
    return True
