"""The customer's files in the media directory (invoice PDFs). Their names are random and no table records
them; a file is the customer's when its name appears in their records (the document link in the tracker,
a delivery's send plan, a dead letter), so this runs on the export's text."""

from pathlib import Path
from typing import Dict, List


def files_named_in(directory: Path, text: str) -> List[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.name in text)


def describe(files: List[Path]) -> List[Dict[str, object]]:
    return [{"name": p.name, "bytes": p.stat().st_size} for p in files]
