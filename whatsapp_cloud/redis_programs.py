"""Redis operations written once, as programs, and run by a blocking or an async runner.

A program is a generator: it yields a list of commands, which the runner executes in one MULTI/EXEC
transaction, and receives their results back; what it returns is the operation's result. So the same
operation serves redis.asyncio (Rasa's event loop) and redis-py (Flask, command-line tools) without
twin implementations (the policy store and the campaigns use it).

A command is (redis-py method name, positional arguments); the few options redis-py takes only by
keyword have names of their own: `set` with 3 arguments (the third is `ex`), `set_nx`, `zadd_nx`,
`zadd_xx`, `hset` with a 4th argument (`mapping`), `hset_many` (a mapping only), `xadd_trimmed`
(stream, fields, approximate MAXLEN), and `eval` (script, number of keys, keys..., arguments...).

On Redis Cluster a transaction holds keys of one hash slot only: the commands of a step are grouped by
slot and each group runs as one transaction on the node that owns it, in the order the groups first
appear. A step whose keys share a slot (whatsapp_cloud/redis_keys.py) stays one transaction; the few
steps that span slots on purpose say why that is safe (tests/whatsapp_cloud/test_redis_slots.py).
"""

from typing import Any, Dict, Generator, Iterable, List, Tuple

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster, key_slot

from whatsapp_cloud.redis_connection import async_transaction, transaction

Command = Tuple[str, Tuple[Any, ...]]
Program = Generator[List[Command], List[Any], Any]


def run_sync(store: "redis.Redis | RedisCluster", program: Program) -> Any:
    try:
        commands = next(program)
        while True:
            results: List[Any] = [None] * len(commands)
            for places in by_slot(commands, isinstance(store, RedisCluster)):
                pipe = transaction(store, command_keys(commands[places[0]])[0])
                done = _queue(pipe, [commands[i] for i in places]).execute()
                for place, result in zip(places, done, strict=True):
                    results[place] = result
            commands = program.send(results)
    except StopIteration as done:
        return done.value


async def run_async(store: "aioredis.Redis | AsyncRedisCluster", program: Program) -> Any:
    try:
        commands = next(program)
        while True:
            results: List[Any] = [None] * len(commands)
            for places in by_slot(commands, isinstance(store, AsyncRedisCluster)):
                pipe = await async_transaction(store, command_keys(commands[places[0]])[0])
                done = await _queue(pipe, [commands[i] for i in places]).execute()
                for place, result in zip(places, done, strict=True):
                    results[place] = result
            commands = program.send(results)
    except StopIteration as done:
        return done.value


def command_keys(command: Command) -> List[str]:
    """The keys a command touches (every command here names at least one)."""
    name, args = command
    if name == "eval":
        return [str(key) for key in args[2:2 + int(args[1])]]
    if name in ("delete", "exists"):
        return [str(key) for key in args]
    return [str(args[0])]


def by_slot(commands: List[Command], cluster: bool) -> List[List[int]]:
    """Places of the commands, one list per transaction: all of them on a single server, one list per hash
    slot (in order of first appearance) on a cluster."""
    if not cluster:
        return [list(range(len(commands)))] if commands else []
    groups: Dict[int, List[int]] = {}
    for place, command in enumerate(commands):
        slots = {key_slot(key.encode()) for key in command_keys(command)}
        if len(slots) != 1:
            raise redis.RedisError(f"{command[0]} touches keys of several hash slots: {command_keys(command)}")
        groups.setdefault(slots.pop(), []).append(place)
    return list(groups.values())


def _queue(pipe: Any, commands: Iterable[Command]) -> Any:
    for name, args in commands:
        if name == "hset":  # hset(name, key, value) or hset(name, key, value, mapping)
            target, key, value, *mapping = args
            pipe.hset(target, key, value, mapping=mapping[0] if mapping else None)
        elif name == "hset_many":
            pipe.hset(args[0], mapping=args[1])
        elif name == "set" and len(args) == 3:
            pipe.set(args[0], args[1], ex=args[2])
        elif name == "set_nx":
            pipe.set(args[0], args[1], ex=args[2], nx=True)
        elif name == "zadd_nx":
            pipe.zadd(args[0], args[1], nx=True)
        elif name == "zadd_xx":
            pipe.zadd(args[0], args[1], xx=True)
        elif name == "xadd_trimmed":
            pipe.xadd(args[0], args[1], maxlen=args[2], approximate=True)
        else:
            getattr(pipe, name)(*args)
    return pipe
