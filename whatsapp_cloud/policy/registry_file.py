"""Writing whatsapp_templates.yml from Meta's templates: the one writer of the registry file.

`replace_all` rewrites the file from every template of the WABA (`tools/sync_templates`); `add` puts one
template Meta approved into it, leaving the others as they are (a template created from the app, when
Meta's `message_template_status_update` says APPROVED). Both keep what only the file knows (parameter
types and lengths, quick-reply payloads, the header comment), leave out templates this platform cannot
send with the reason, write only a result that loads as a registry, and replace the file in one step
under a lock, so two writers never interleave and a reader never sees half a file.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import yaml

from whatsapp_cloud.policy.graph_templates import from_graph
from whatsapp_cloud.policy.templates import RegistryFileError, TemplateRegistry


def merge(graph: List[Mapping[str, Any]], current: Mapping[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """The registry mapping for Meta's templates, and why any of them were left out."""
    candidate = from_graph(graph, current)
    kept: Dict[str, Any] = {}
    skipped: List[str] = []
    for name, entry in candidate["templates"].items():
        try:
            TemplateRegistry.from_mapping({"templates": {name: entry}})
        except RegistryFileError as exc:
            skipped.append(str(exc))
            continue
        kept[name] = entry
    return {"templates": kept}, skipped


def render(path: Path, mapping: Mapping[str, Any]) -> str:
    """The file's text: its header comment, then the mapping."""
    return header_comment(path) + yaml.safe_dump(dict(mapping), sort_keys=False, allow_unicode=True, width=120)


def header_comment(path: Path) -> str:
    lines = path.read_text().splitlines(keepends=True) if path.exists() else []
    comment = []
    for line in lines:
        if not line.startswith("#"):
            break
        comment.append(line)
    return "".join(comment)


def replace_all(path: Path, graph: List[Mapping[str, Any]]) -> Tuple[Dict[str, Any], List[str]]:
    """Rewrite the file from every template Meta listed; the mapping written and what was left out."""
    with _locked(path):
        merged, skipped = merge(graph, _read(path))
        _write(path, merged)
    return merged, skipped


def add(path: Path, listed: Mapping[str, Any]) -> Dict[str, Any]:
    """Put one template language, as Meta lists it, into the file; its registry entry. RegistryFileError
    (nothing written) when the platform could not send it."""
    with _locked(path):
        current = _read(path)
        name = str(listed["name"])
        old = (current.get("templates") or {}).get(name)
        merged, skipped = merge([listed], {"templates": {name: old}} if isinstance(old, Mapping) else {})
        if skipped:
            raise RegistryFileError(skipped[0])
        entry = merged["templates"][name]
        if isinstance(old, Mapping):  # other languages of the same template stay
            entry = {**old, **entry, "languages": {**(old.get("languages") or {}), **entry["languages"]}}
        templates = dict(current.get("templates") or {})
        templates[name] = entry
        result = {**current, "templates": templates}
        TemplateRegistry.from_mapping(result)
        _write(path, result)
    return entry


def _read(path: Path) -> Dict[str, Any]:
    data = yaml.safe_load(path.read_text()) if path.exists() else {}
    return dict(data or {})


def _write(path: Path, mapping: Mapping[str, Any]) -> None:
    text = render(path, mapping)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # A lock file beside the registry: the registry itself is replaced, so it cannot hold the lock.
    with open(path.parent / f".{path.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
