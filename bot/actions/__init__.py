"""Custom actions, served by the Rasa SDK action server (`rasa run actions --actions bot.actions`)."""

from bot.actions.greeting import ActionGreetCustomer

__all__ = ["ActionGreetCustomer"]
