"""Durable intake: the webhook stream, exactly-once claims, the consumer and its dead letters."""
