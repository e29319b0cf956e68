"""Human handoff service: escalated chats, the agent inbox and the way back to the bot."""
