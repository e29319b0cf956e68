"""Agent accounts: hashed passwords, roles, teams, capacity and online/away status, kept in Redis."""

import hashlib
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
# Checked against when the username is unknown, so that an unknown name costs as much as a wrong password.
_DUMMY_HASH = generate_password_hash("no such agent: equal work for unknown usernames")


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
    disabled: bool = False
    session_version: int = 0  # raised on logout, password change and disabling: older sessions and tokens die

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
        if not replace:
            # A random start: a cookie of a deleted account never fits a new account of the same name.
            self.redis.hset(keys.agent(username), "session_version", secrets.randbelow(2**31))
        self.redis.sadd(keys.AGENTS, username)
        if replace:  # a new password: sessions and tokens of the old one end
            self.redis.hset(keys.agent(username), "disabled", "0")
            self.revoke_sessions(username)
        return self.get(username)  # type: ignore[return-value]

    def get(self, username: str) -> Optional[Agent]:
        record = self.redis.hgetall(keys.agent(username)) if username else {}
        if not record:
            return None
        return Agent(record["username"], record["name"], record["role"], tuple(record["teams"].split(",")),
                     int(record["capacity"]), record["status"],
                     language_codes(record.get("languages")),  # accounts made before languages: English
                     record.get("disabled") == "1", int(record.get("session_version") or 0))

    def all(self) -> List[Agent]:
        return [a for a in (self.get(u) for u in sorted(self.redis.smembers(keys.AGENTS))) if a]

    def of_team(self, team: str) -> List[Agent]:
        return [a for a in self.all() if team in a.teams]

    def authenticate(self, username: str, password: str) -> Optional[Agent]:
        stored = self.redis.hget(keys.agent(username), "password") if username else None
        matches = check_password_hash(stored or _DUMMY_HASH, password)
        if not stored or not matches:
            return None
        agent = self.get(username)
        return agent if agent and not agent.disabled else None

    def active(self, username: str, session_version: object) -> Optional[Agent]:
        """The agent of a session or token, unless it was revoked (logout, password change, disabled)."""
        agent = self.get(username) if username else None
        if agent is None or agent.disabled or str(agent.session_version) != str(session_version):
            return None
        return agent

    def revoke_sessions(self, username: str) -> None:
        """Every session cookie and API token of the agent stops working."""
        self.redis.hincrby(keys.agent(username), "session_version", 1)

    def set_password(self, username: str, password: str) -> None:
        if self.get(username) is None:
            raise InvalidAgent(f"no agent {username}")
        if len(password) < MIN_PASSWORD:
            raise InvalidAgent(f"password must have at least {MIN_PASSWORD} characters")
        self.redis.hset(keys.agent(username), "password", generate_password_hash(password))
        self.revoke_sessions(username)

    def disable(self, username: str) -> None:
        if self.get(username) is None:
            raise InvalidAgent(f"no agent {username}")
        self.redis.hset(keys.agent(username), mapping={"disabled": "1", "status": "offline"})
        self.revoke_sessions(username)

    def enable(self, username: str) -> None:
        if self.get(username) is None:
            raise InvalidAgent(f"no agent {username}")
        self.redis.hset(keys.agent(username), "disabled", "0")

    def delete(self, username: str) -> None:
        if self.get(username) is None:
            raise InvalidAgent(f"no agent {username}")
        self.revoke_sessions(username)
        self.redis.delete(keys.agent(username))
        self.redis.srem(keys.AGENTS, username)
        self.redis.zrem(keys.PRESENCE, username)

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
        """Agents online, or holding chats whatever their status, whose last sign of life is older than
        `before` (closed laptop, lost network): nobody keeps a customer while not there."""
        quiet = set(self.redis.zrangebyscore(keys.PRESENCE, "-inf", before))
        return [a.username for a in self.all()
                if (a.status == "online" or self.redis.scard(keys.agent_chats(a.username)))
                and (a.username in quiet or self.redis.zscore(keys.PRESENCE, a.username) is None)]

    def issue_token(self, username: str) -> str:
        agent = self.get(username)
        version = agent.session_version if agent else 0
        token = secrets.token_urlsafe(32)
        # Only a hash is stored: whoever reads Redis (or a copy of it) learns no usable token.
        self.redis.set(keys.api_token(token_digest(token)), f"{username}:{version}", ex=TOKEN_SECONDS)
        return token

    def by_token(self, token: str) -> Optional[Agent]:
        value = self.redis.get(keys.api_token(token_digest(token))) if token else None
        if not value:
            return None
        username, _, version = value.rpartition(":")
        return self.active(username, version)

    def revoke_token(self, token: str) -> None:
        self.redis.delete(keys.api_token(token_digest(token)))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
