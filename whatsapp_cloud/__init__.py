"""What the bot and the handoff service share about WhatsApp's Cloud API.

One Graph API client, one webhook signature check, one envelope format: every part of
the platform that talks to WhatsApp goes through this package.
"""
