"""Every kind written to `wa:events` is in the catalogue (whatsapp_cloud/events/kinds.py), with its fields,
and every kind in the catalogue is written somewhere.

The writers are found in the sources: `<...>.events.record(kind, **fields)`, `entry(kind, **fields)`,
`xadd(EVENT_STREAM, {"kind": kind, ...})`, and the Lua scripts, which must receive their kind in ARGV.
"""

import ast
import functools
import re
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import redis

from stack.settings import ROOT
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds

PACKAGES = ("bot", "handoff", "campaigns", "outgoing_webhooks", "analytics", "privacy", "ingest", "whatsapp_cloud",
            "shop", "stack", "tools", "cloud_api_standin", "simulation", "bench")
CATALOGUE_FILE = ROOT / "whatsapp_cloud" / "events" / "kinds.py"
# They pass their callers' kinds on (each caller's kinds.NAME is checked where it calls them).
PASSING_ON = (ROOT / "whatsapp_cloud" / "events" / "log.py", ROOT / "bot" / "actions" / "events.py")


def sources() -> Iterator[Tuple[Path, ast.Module]]:
    return iter(parsed_sources())


@functools.lru_cache(maxsize=1)
def parsed_sources() -> Tuple[Tuple[Path, ast.Module], ...]:
    """Every source file of the project, parsed once for all the scans of this module."""
    return tuple((path, ast.parse(path.read_text(), str(path))) for package in PACKAGES
                 for path in sorted((ROOT / package).rglob("*.py")) if path != CATALOGUE_FILE)


def catalogue_name(node: ast.expr) -> Optional[str]:
    """`kinds.NAME` -> NAME."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "kinds" \
            and node.attr.isupper():
        return node.attr
    return None


def is_event_stream(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "EVENT_STREAM") or (
        isinstance(node, ast.Attribute) and node.attr == "EVENT_STREAM")


def writes(tree: ast.Module) -> Iterator[Tuple[ast.AST, ast.expr, Set[str]]]:
    """(call, kind expression, field names) of every write to the event stream in a module."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        on_events = isinstance(func, ast.Attribute) and (
            (isinstance(func.value, ast.Attribute) and func.value.attr == "events")
            or (isinstance(func.value, ast.Name) and func.value.id == "events"))
        if (name == "record" and on_events) or name == "entry":
            yield node, node.args[0], {k.arg for k in node.keywords if k.arg}
        elif name == "xadd" and is_event_stream(node.args[0]) and isinstance(node.args[1], ast.Dict):
            fields = {k.value: v for k, v in zip(node.args[1].keys, node.args[1].values, strict=True)
                      if isinstance(k, ast.Constant)}
            assert "kind" in fields, f"line {node.lineno}: an event without a kind"
            yield node, fields["kind"], set(fields) - {"kind", "at"}


def resolve(tree: ast.Module, call: ast.AST, kind: ast.expr) -> List[str]:
    """The catalogue names a write can use: `kinds.X`, or a parameter whose default and every keyword
    argument given for it in the module are `kinds.X`. Anything else (a literal) fails."""
    direct = catalogue_name(kind)
    if direct is not None:
        return [direct]
    assert isinstance(kind, ast.Name), f"line {call.lineno}: the kind must be kinds.NAME, not {ast.unparse(kind)}"
    function = next(f for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and any(n is call for n in ast.walk(f)))
    params = function.args.args[-len(function.args.defaults):] if function.args.defaults else []
    default = dict(zip((p.arg for p in params), function.args.defaults, strict=True)).get(kind.id)
    names = [catalogue_name(default)] if default is not None else []
    for other in ast.walk(tree):
        if isinstance(other, ast.Call) and getattr(other.func, "attr", None) == function.name:
            names += [catalogue_name(k.value) for k in other.keywords if k.arg == kind.id]
    assert names and None not in names, f"line {call.lineno}: {kind.id} must come from kinds.NAME"
    return [n for n in names if n]


def written() -> Dict[str, List[Tuple[str, Set[str]]]]:
    found: Dict[str, List[Tuple[str, Set[str]]]] = {}
    for path, tree in sources():
        if path in PASSING_ON:
            continue
        for call, kind, fields in writes(tree):
            for name in resolve(tree, call, kind):
                found.setdefault(name, []).append((f"{path.relative_to(ROOT)}:{call.lineno}", fields))
    return found


def referenced() -> Set[str]:
    """Every `kinds.NAME` in the sources (a Lua script's kind is passed from Python as one)."""
    return {name for _path, tree in sources() for node in ast.walk(tree) if (name := catalogue_name(node))}


def lua_scripts() -> Iterator[Tuple[Path, str]]:
    for path, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "redis.call(" in node.value:
                yield path, node.value


def test_the_scan_finds_the_writers() -> None:
    assert len(written()) >= 25
    assert any("handoff/state.py" == str(p.relative_to(ROOT)) for p, _s in lua_scripts())


def test_every_kind_written_is_in_the_catalogue_with_its_fields() -> None:
    by_constant = {name: value for name, value in vars(kinds).items() if name.isupper() and isinstance(value, str)}
    for constant, sites in written().items():
        assert constant in by_constant, f"kinds.{constant} (written at {sites[0][0]}) is not in the catalogue"
        kind = kinds.CATALOGUE[by_constant[constant]]
        for site, fields in sites:
            assert fields <= set(kind.fields), f"{site}: {sorted(fields - set(kind.fields))} not in {kind.name}"


def test_every_kind_in_the_catalogue_is_written() -> None:
    names = {value: name for name, value in vars(kinds).items() if name.isupper() and isinstance(value, str)}
    assert set(names) == set(kinds.CATALOGUE), "every catalogue entry has its constant"
    unused = {value for value, name in names.items() if name not in referenced()}
    assert not unused, f"in the catalogue but written nowhere: {sorted(unused)}"
    # Readers (analytics, privacy) also use the catalogue itself: every other upper-case name must be a kind.
    assert referenced() - {"CATALOGUE"} <= set(names.values()), "a kinds.NAME that the catalogue does not define"


def test_lua_scripts_receive_their_event_kind() -> None:
    for path, script in lua_scripts():
        literal = re.findall(r"'kind',\s*'([A-Za-z_]+)'", script)
        assert not literal, f"{path}: a Lua script writes the kind {literal} as a literal (pass it in ARGV)"


def test_each_kind_says_when_it_is_written() -> None:
    for kind in kinds.CATALOGUE.values():
        assert kind.when and kind.fields, kind.name
        assert kind.customer is None or kind.customer in kind.fields


def test_the_handoff_transition_has_the_catalogued_fields(redis_url: str) -> None:
    from handoff.state import ChatStore, Escalation

    store = redis.Redis.from_url(redis_url, decode_responses=True)
    ChatStore(store).escalate(Escalation("15550001111", None, "fallback", None, {}, ""), "general", 0.0)
    (_id, fields), = store.xrange(redis_keys.EVENT_STREAM)
    kind = kinds.CATALOGUE[fields.pop("kind")]
    assert kind.name == kinds.HANDOFF_TRANSITION
    fields.pop("at")
    assert set(fields) == set(kind.fields)
