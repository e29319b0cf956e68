"""WhatsApp messaging policy: windows, consent, templates, messaging limit and the send decision."""
