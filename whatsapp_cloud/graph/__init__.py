"""Meta's Graph API: the one client, its configuration and one error class per error code."""
