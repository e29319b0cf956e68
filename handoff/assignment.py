"""Routing: which agent gets a waiting chat, and how long a customer can expect to wait."""

import logging
import math
import time
from typing import List, Optional

from handoff import keys
from handoff.agents import Agent, AgentDirectory
from handoff.state import ChatStore, Conflict, NotFound
from handoff.teams import TEAMS

logger = logging.getLogger(__name__)


def pick(agents: List[Agent], passed_by: Optional[str], language: Optional[str]) -> Optional[Agent]:
    """The least busy agent who speaks the customer's language; when none of them can take the chat
    now, the least busy of all (an answer in English soon beats waiting for a speaker)."""
    eligible = [a for a in agents if a.username != passed_by]
    return next((a for a in eligible if a.speaks(language)), eligible[0] if eligible else None)


class Router:
    def __init__(self, chats: ChatStore, agents: AgentDirectory, handle_seconds: float) -> None:
        self.chats = chats
        self.agents = agents
        self.handle_seconds = handle_seconds

    def available(self, team: str) -> List[Agent]:
        """Online agents of the team with room, fewest open chats first."""
        candidates = []
        for agent in self.agents.of_team(team):
            if agent.status != "online":
                continue
            load = len(self.chats.agent_chats(agent.username))
            if load < agent.capacity:
                candidates.append((load, agent.username, agent))
        return [agent for _load, _name, agent in sorted(candidates, key=lambda c: (c[0], c[1]))]

    def assign_waiting(self, team: Optional[str] = None) -> List[str]:
        """Give waiting chats (window closing soonest first) to the least busy online agents."""
        assigned = []
        for each in [team] if team else TEAMS:
            progress = True
            while progress:
                progress = False
                agents = self.available(each)
                if not agents:
                    break
                for chat_id in self.chats.redis.zrange(keys.queue(each), 0, 49):
                    passed_by, language = self.chats.redis.hmget(keys.chat(chat_id), "passed_by", "language")
                    agent = pick(agents, passed_by, language)
                    if agent is None:
                        continue
                    try:
                        self.chats.claim(chat_id, agent.username, agent.capacity)
                    except NotFound:
                        # A queue entry without its chat record would be offered again forever: repair.
                        self.chats.drop_from_queue(chat_id, each)
                        logger.error("queue %s held %s, which has no chat record: removed", each, chat_id)
                    except Conflict as exc:  # claimed by a person or another worker meanwhile
                        logger.debug("assignment of %s skipped: %s", chat_id, exc)
                    else:
                        assigned.append(chat_id)
                    progress = True
                    break  # loads changed: rank the agents again
        return assigned

    def agent_left(self, username: str) -> List[str]:
        """Put an agent's open chats back in their teams' queues (agent went away or offline)."""
        moved = []
        for chat_id in self.chats.agent_chats(username):
            try:
                self.chats.requeue(chat_id, by=username, why=f"{username} went offline")
                moved.append(chat_id)
            except (Conflict, NotFound):
                continue
        self.assign_waiting()
        return moved

    def expected_wait(self, team: str, position: Optional[int]) -> Optional[int]:
        """Seconds until an agent is likely free: the chats ahead, shared by the team's online agents."""
        if position is None:
            return 0
        online = [a for a in self.agents.of_team(team) if a.status == "online"]
        if not online:
            return None
        average = float(self.chats.redis.hget(keys.team_stats(team), "handle_seconds") or self.handle_seconds)
        slots = sum(a.capacity for a in online)
        return int(math.ceil(position / slots) * average)

    def record_handling(self, chat: dict, now: Optional[float] = None) -> None:
        """Moving average of how long agents hold a chat, per team."""
        if not chat.get("assigned_at"):
            return
        took = (now or time.time()) - float(chat["assigned_at"])
        stats = keys.team_stats(chat["team"])
        previous = float(self.chats.redis.hget(stats, "handle_seconds") or self.handle_seconds)
        self.chats.redis.hset(stats, "handle_seconds", repr(0.8 * previous + 0.2 * took))
