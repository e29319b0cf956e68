"""Business-initiated messages: notifications and campaigns within consent and Meta's limits.

Every message goes through the platform's one outbound governor and messaging policy
(`stack.components.outbound_sender`); this package plans, paces, resumes and reports. It may import
`stack/`, `whatsapp_cloud/` and `shop/`; the bot and the handoff service call it, never the reverse.
"""
