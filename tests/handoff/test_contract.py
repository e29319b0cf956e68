"""The bot knows the handoff service only through handoff/contract.py, and both keep to the same contract."""

import ast
import subprocess
import sys
from pathlib import Path

import yaml

import bot.actions.handoff as bot_handoff
import bot.actions.handoff_service as bot_client
import handoff.api as api
from handoff import contract
from stack.settings import ROOT


def handoff_imports(path: Path) -> list:
    """The handoff modules a file imports, as dotted names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "handoff"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "handoff":
                found += [f"handoff.{a.name}" for a in node.names]
            elif node.module.startswith("handoff."):
                found.append(node.module)
    return found


def test_the_bot_imports_nothing_of_the_handoff_service_but_its_contract() -> None:
    used = {str(p.relative_to(ROOT)): handoff_imports(p) for p in (ROOT / "bot").rglob("*.py")}
    assert any(used.values()), "the scan finds the bot's imports of the contract"
    strays = {path: names for path, names in used.items() if set(names) - {"handoff.contract"}}
    assert not strays, f"the bot may import only handoff.contract: {strays}"


def test_the_contract_imports_nothing() -> None:
    tree = ast.parse((ROOT / "handoff" / "contract.py").read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, handoff.contract; print(sorted(m for m in sys.modules if "
         "m.split('.')[0] in ('flask', 'handoff', 'werkzeug', 'redis')))"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "['handoff', 'handoff.contract']"


def test_the_bot_and_the_service_accept_the_same_reasons() -> None:
    assert bot_client.REASONS is contract.REASONS and bot_handoff.REASONS is contract.REASONS
    assert api.REASONS is contract.REASONS
    spec = yaml.safe_load((ROOT / "handoff" / "openapi.yaml").read_text())
    body = spec["paths"][contract.ESCALATIONS_PATH]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert tuple(body["properties"]["reason"]["enum"]) == contract.REASONS


def test_reasons_and_owner_states_are_spelled_only_in_the_contract() -> None:
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handoff").rglob("*.py")]:
        if path.name == "contract.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                assert not {"REASONS", "HANDOFF_STATES", "OPEN_STATES", "OWNER_STATES"} & set(names), path
            elif isinstance(node, ast.Tuple):
                values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                assert not {contract.QUEUED, contract.AGENT} <= values, f"{path}:{node.lineno} spells the states"


def test_the_channel_reads_the_owner_record_the_service_writes() -> None:
    from handoff import keys

    assert keys.owner("15550001111") == contract.owner_key("15550001111") == "{wa}:handoff:owner:15550001111"
    assert contract.customer_messages_path("15550001111") == "/api/internal/customers/15550001111/messages"
