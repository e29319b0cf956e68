"""Everything sent: the governor every message passes, the throttle, delivery statuses, offered choices."""
