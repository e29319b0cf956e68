"""Redis operations written once, as programs, and run by a blocking or an async runner.

A program is a generator: it yields a list of commands, which the runner executes in one MULTI/EXEC
transaction, and receives their results back; what it returns is the operation's result. So the same
operation serves redis.asyncio (Rasa's event loop) and redis-py (Flask, command-line tools) without
twin implementations (the policy store and the campaigns use it).

A command is (redis-py method name, positional arguments); the few options redis-py takes only by
keyword have names of their own: `set` with 3 arguments (the third is `ex`), `set_nx`, `zadd_nx`,
`zadd_xx`, `hset` with a 4th argument (`mapping`), `hset_many` (a mapping only), `xadd_trimmed`
(stream, fields, approximate MAXLEN).
"""

from typing import Any, Generator, Iterable, List, Tuple

import redis
import redis.asyncio as aioredis

Command = Tuple[str, Tuple[Any, ...]]
Program = Generator[List[Command], List[Any], Any]


def run_sync(store: redis.Redis, program: Program) -> Any:
    try:
        commands = next(program)
        while True:
            commands = program.send(_queue(store.pipeline(transaction=True), commands).execute())
    except StopIteration as done:
        return done.value


async def run_async(store: aioredis.Redis, program: Program) -> Any:
    try:
        commands = next(program)
        while True:
            commands = program.send(await _queue(store.pipeline(transaction=True), commands).execute())
    except StopIteration as done:
        return done.value


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
