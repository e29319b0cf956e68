"""Every Lua script touches only the keys it receives in KEYS, as Redis Cluster requires.

Two checks: every `redis.call` in every script of the project names its key as `KEYS[n]` (or `KEYS[i]` in a
loop over KEYS; read from the
sources), and the handoff's scripts, run through a whole chat's life as a Redis user allowed only the
keys of each call, are never refused (Redis checks each key a script touches against the user's ACL).
"""

import ast
import re
from typing import Any, Iterator, List, Sequence, Tuple

import pytest
import redis
from redis.commands.core import Script

from handoff import keys
from handoff.state import ChatStore, Escalation
from stack.settings import ROOT

PACKAGES = ("bot", "handoff", "campaigns", "outgoing_webhooks", "analytics", "privacy", "ingest", "whatsapp_cloud",
            "shop", "stack", "tools", "cloud_api_standin", "simulation", "bench")
CALL = re.compile(r"redis\.p?call\(\s*'(\w+)'\s*,\s*([^,)]+)")
CHECKER = "lua-keys-check"


def lua_sources() -> Iterator[Tuple[str, str]]:
    """(where, text) of every string in the sources that calls Redis from Lua (f-strings' literal parts too)."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and "redis.call(" in node.value:
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", node.value


def test_every_redis_call_in_a_script_names_its_key_in_keys() -> None:
    scripts = list(lua_sources())
    assert len(scripts) >= 20 and any(where.startswith("handoff/state.py") for where, _ in scripts)
    undeclared = [(where, command, key.strip()) for where, text in scripts
                  for command, key in CALL.findall(text) if not re.fullmatch(r"KEYS\[(\d+|i)\]", key.strip())]
    assert not undeclared, f"keys not passed in KEYS: {undeclared}"


class OnlyDeclaredKeys:
    """Runs a registered script as a Redis user allowed exactly the keys of this call."""

    def __init__(self, admin: redis.Redis, checked: redis.Redis, script: Script) -> None:
        self.admin, self.checked, self.script = admin, checked, script
        self.calls = 0

    def __call__(self, keys: Sequence[str] = (), args: Sequence[Any] = (), client: Any = None) -> Any:
        patterns = ["~" + re.sub(r"([*?\[\]\\])", r"\\\1", key) for key in keys]
        self.admin.acl_setuser(CHECKER, enabled=True, nopass=True, reset_keys=True, keys=patterns or None,
                               commands=["+@all"])
        self.calls += 1
        return self.script(keys=keys, args=args, client=self.checked)


@pytest.fixture()
def checked_chats(redis_url: str) -> Iterator[Tuple[ChatStore, List[OnlyDeclaredKeys]]]:
    admin = redis.Redis.from_url(redis_url, decode_responses=True)
    admin.acl_setuser(CHECKER, enabled=True, nopass=True, commands=["+@all"])
    checked = redis.Redis.from_url(redis_url, decode_responses=True, username=CHECKER, password="unused")
    chats = ChatStore(admin)
    wrapped = []
    for name, value in list(vars(chats).items()):
        if isinstance(value, Script):
            wrapped.append(OnlyDeclaredKeys(admin, checked, value))
            setattr(chats, name, wrapped[-1])
    yield chats, wrapped
    admin.acl_deluser(CHECKER)
    checked.close()
    admin.close()


def test_the_handoff_scripts_touch_only_their_declared_keys(checked_chats) -> None:
    chats, scripts = checked_chats
    customer = "15550009999"
    chat_id, _ = chats.escalate(Escalation(customer, "Ana", "fallback", None, {}, "hi"), "orders", 5000.0, now=100.0)
    chats.set_sla("first", chat_id, 150.0)
    chats.claim(chat_id, "alice", capacity=3, now=110.0)
    chats.customer_message(customer, "wamid.1", {"kind": "customer", "text": "hello"}, next_due=400.0, now=120.0)
    chats.add_message(chat_id, {"kind": "agent", "text": "hi"}, "alice", now=130.0)
    chats.transfer_to_agent(chat_id, "alice", "bob", capacity=3, now=140.0)
    chats.requeue(chat_id, by="bob", team="refunds", now=150.0)
    chats.take_due_sla(now=1000.0)
    chats.claim(chat_id, "carol", capacity=3, now=160.0)
    chats.resolve(chat_id, "carol", "done", now=170.0)
    assert chats.claim_handback(chat_id, lease_until=300.0, now=200.0)
    chats.take_due_handbacks(retry_at=400.0, now=1000.0)
    assert all(script.calls for script in scripts), "every script ran"
    assert chats.chat(chat_id)["state"] == "resolved" and chats.owner(customer)["state"] == "bot"
    assert chats.agent_chats("carol") == [] and chats.queue("refunds") == []


def test_a_chat_moved_since_its_keys_were_read_is_tried_again(redis_url: str, monkeypatch) -> None:
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    chats = ChatStore(store)
    chat_id, _ = chats.escalate(Escalation("15550008888", None, "fallback", None, {}, ""), "orders", 5000.0)
    chats.claim(chat_id, "alice", capacity=3)
    # The first read sees the chat as it was before alice claimed it (queued, no agent): the script
    # refuses those keys, and the second read builds the right ones.
    real_hmget, reads = store.hmget, []

    def stale_once(name: str, *fields: str) -> list:
        reads.append(name)
        values = real_hmget(name, *fields)
        return [values[0], values[1], ""] if len(reads) == 1 else values

    monkeypatch.setattr(store, "hmget", stale_once)
    chats.transfer_to_agent(chat_id, "alice", "bob", capacity=3)
    assert len(reads) == 2
    assert chats.agent_chats("alice") == [] and chats.agent_chats("bob") == [chat_id]
    assert store.smembers(keys.agent_chats("")) == set()
