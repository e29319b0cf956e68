"""Agent accounts: hashed passwords, roles, teams, capacity and online/away status, kept in Redis."""

import secrets
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import redis
from werkzeug.security import check_password_hash, generate_password_hash

from handoff import keys
from handoff.languages import DEFAULT_AGENT_LANGUAGES, InvalidLanguage, language_codes
from handoff.teams import TEAMS

ROLES = ("agent", "supervisor", "admin")
STATUSES = ("online", "away", "offline")
TOKEN_SECONDS = 12 * 3600
MIN_PASSWORD = 8


class InvalidAgent(ValueError):
    pass


@dataclass(frozen=True)
class Agent:
    username: str
    name: str
    role: str
    teams: Tuple[str, ...]
    capacity: int
    status: str
    languages: Tuple[str, ...] = DEFAULT_AGENT_LANGUAGES  # ISO 639-1; routing prefers a customer's own

    def speaks(self, language: Optional[str]) -> bool:
        return bool(language) and language in self.languages

    @property
    def sees_all(self) -> bool:
        return self.role in ("supervisor", "admin")

    def can_see(self, chat: Dict[str, str]) -> bool:
        return self.sees_all or chat.get("team") in self.teams or chat.get("agent") == self.username

    def public(self) -> Dict[str, object]:
        return {"username": self.username, "name": self.name, "role": self.role, "teams": list(self.teams),
                "capacity": self.capacity, "status": self.status, "languages": list(self.languages)}


class AgentDirectory:
    def __init__(self, store: redis.Redis) -> None:
        self.redis = store

    def create(self, username: str, password: str, name: str = "", role: str = "agent",
               teams: Tuple[str, ...] = ("general",), capacity: int = 3, replace: bool = False,
               languages: Tuple[str, ...] = DEFAULT_AGENT_LANGUAGES) -> Agent:
        if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise InvalidAgent("username: letters, digits, '.', '-' and '_' only")
        if role not in ROLES:
            raise InvalidAgent(f"role must be one of {', '.join(ROLES)}")
        unknown = [t for t in teams if t not in TEAMS]
        if unknown or not teams:
            raise InvalidAgent(f"teams must be among {', '.join(TEAMS)} (got {', '.join(teams) or 'none'})")
        if capacity < 1:
            raise InvalidAgent("capacity must be at least 1")
        try:
            languages = language_codes(languages)
        except InvalidLanguage as exc:
            raise InvalidAgent(str(exc)) from None
        if len(password) < MIN_PASSWORD:
            raise InvalidAgent(f"password must have at least {MIN_PASSWORD} characters")
        if not replace and self.redis.exists(keys.agent(username)):
            raise InvalidAgent(f"agent {username} already exists")
        self.redis.hset(keys.agent(username), mapping={
            "username": username, "name": name or username, "role": role, "teams": ",".join(teams),
            "capacity": capacity, "status": "offline", "password": generate_password_hash(password),
            "languages": ",".join(languages),
        })
        self.redis.sadd(keys.AGENTS, username)
        return self.get(username)  # type: ignore[return-value]

    def get(self, username: str) -> Optional[Agent]:
        record = self.redis.hgetall(keys.agent(username)) if username else {}
        if not record:
            return None
        return Agent(record["username"], record["name"], record["role"], tuple(record["teams"].split(",")),
                     int(record["capacity"]), record["status"],
                     language_codes(record.get("languages")))  # accounts made before languages: English

    def all(self) -> List[Agent]:
        return [a for a in (self.get(u) for u in sorted(self.redis.smembers(keys.AGENTS))) if a]

    def of_team(self, team: str) -> List[Agent]:
        return [a for a in self.all() if team in a.teams]

    def authenticate(self, username: str, password: str) -> Optional[Agent]:
        stored = self.redis.hget(keys.agent(username), "password") if username else None
        if not stored or not check_password_hash(stored, password):
            return None
        return self.get(username)

    def set_status(self, username: str, status: str) -> None:
        if status not in STATUSES:
            raise InvalidAgent(f"status must be one of {', '.join(STATUSES)}")
        self.redis.hset(keys.agent(username), mapping={"status": status, "status_since": repr(time.time())})
        self.seen(username)

    def set_languages(self, username: str, languages: Tuple[str, ...]) -> Agent:
        if self.get(username) is None:
            raise InvalidAgent(f"no agent {username}")
        try:
            codes = language_codes(languages)
        except InvalidLanguage as exc:
            raise InvalidAgent(str(exc)) from None
        self.redis.hset(keys.agent(username), "languages", ",".join(codes))
        return self.get(username)  # type: ignore[return-value]

    def seen(self, username: str, at: Optional[float] = None) -> None:
        self.redis.zadd(keys.PRESENCE, {username: time.time() if at is None else at})

    def absent_since(self, before: float) -> List[str]:
        """Agents marked online whose last sign of life is older than `before` (closed laptop, lost network)."""
        quiet = set(self.redis.zrangebyscore(keys.PRESENCE, "-inf", before))
        return [a.username for a in self.all() if a.status == "online" and
                (a.username in quiet or self.redis.zscore(keys.PRESENCE, a.username) is None)]

    def issue_token(self, username: str) -> str:
        token = secrets.token_urlsafe(32)
        self.redis.set(keys.api_token(token), username, ex=TOKEN_SECONDS)
        return token

    def by_token(self, token: str) -> Optional[Agent]:
        username = self.redis.get(keys.api_token(token)) if token else None
        return self.get(username) if username else None

    def revoke_token(self, token: str) -> None:
        self.redis.delete(keys.api_token(token))
