"""Outgoing webhooks: the business's own systems (ticketing, CRM) subscribe to what happens here.

The event stream `wa:events` is read by a consumer group (fanout.py), each event of a public type
(event_types.py) is copied once per subscription into a delivery stream, and the worker (worker.py) POSTs
each one, signed like Meta's webhooks, with retries and backoff, a delivery log per subscription and a
dead-letter list (delivery.py). Subscriptions are kept in Redis (subscriptions.py).
"""
