"""The layout's rules, checked over every import in the code (docs/where-things-go.md explains them).

    whatsapp_cloud, shop   libraries: import no package of the application, read no environment
    stack                  settings and shared components: may use the libraries, never bot or handoff
    analytics              figures from the event streams: stack and the libraries, never the applications
    bot, handoff           the two applications: never each other (the bot reads handoff.contract only)
    privacy                export and erasure: stack and the libraries, never the applications that call it
"""

import ast
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPLICATION = {"bot", "handoff", "stack", "tools", "cloud_api_standin", "simulation", "bench", "tests", "ingest"}
FORBIDDEN: Dict[str, Set[str]] = {
    "whatsapp_cloud": APPLICATION | {"shop", "rasa", "rasa_sdk", "sanic", "flask"},
    "shop": APPLICATION | {"whatsapp_cloud", "rasa", "rasa_sdk", "flask"},
    "stack": {"bot", "handoff", "tools", "cloud_api_standin", "simulation", "analytics", "campaigns",
              "outgoing_webhooks"},
    "handoff": {"bot", "rasa", "rasa_sdk", "sanic"},
    # Called by the bot and the handoff service, never the other way round; reads stores with plain clients.
    "privacy": {"bot", "handoff", "tools", "cloud_api_standin", "simulation", "rasa", "rasa_sdk", "sanic", "flask"},
    # Meta's callback URL: answers while the workers run NLU, so it loads none of the bot.
    "ingest": {"bot", "handoff", "tools", "cloud_api_standin", "simulation", "rasa", "rasa_sdk", "sanic", "flask",
               "tensorflow", "spacy"},
    # Serves the bot's designers, supervisors and the handoff app, which call it; it calls neither.
    "analytics": {"bot", "handoff", "tools", "cloud_api_standin", "simulation", "rasa", "rasa_sdk", "sanic", "flask"},
    # Business-initiated messages: below the applications that call it (the bot, the handoff service).
    "campaigns": {"bot", "handoff", "tools", "cloud_api_standin", "simulation", "rasa", "rasa_sdk", "sanic", "flask"},
    # The business's systems subscribe to events: below the handoff service (its API) and the tools.
    "outgoing_webhooks": {"bot", "handoff", "tools", "cloud_api_standin", "simulation", "analytics", "campaigns",
                          "rasa", "rasa_sdk", "sanic", "flask"},
}
ENVIRONMENT_FREE = ("whatsapp_cloud", "shop")


def imports(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, module) for every import in a file, lazy ones inside functions included."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def sources(package: str) -> List[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def broken_rules(package: str) -> List[str]:
    found = []
    for path in sources(package):
        for line, module in imports(path):
            if module.split(".")[0] in FORBIDDEN[package]:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_what_is_below_them(package):
    assert sources(package), f"no sources found for {package}"
    assert broken_rules(package) == []


def environment_reads(path: Path) -> List[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} reads os.{node.attr}")
    return found


@pytest.mark.parametrize("package", ENVIRONMENT_FREE)
def test_libraries_receive_their_settings_instead_of_reading_the_environment(package):
    assert [read for path in sources(package) for read in environment_reads(path)] == []


def test_the_checks_see_a_broken_rule(tmp_path, monkeypatch):
    # The scan must notice a violation, a lazy one inside a function included.
    library = tmp_path / "whatsapp_cloud"
    library.mkdir()
    (library / "bad.py").write_text("import os\n\ndef f():\n    from bot.actions import common\n"
                                    "    return os.environ.get('X')\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert broken_rules("whatsapp_cloud") == ["whatsapp_cloud/bad.py:4 imports bot.actions"]
    assert environment_reads(library / "bad.py") == ["whatsapp_cloud/bad.py:5 reads os.environ"]
