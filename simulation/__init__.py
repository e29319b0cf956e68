"""Scripted customers played through the running stack (`make simulate`): how many journeys the bot
completes without a person, how many it hands to a person, and how many get stuck."""
