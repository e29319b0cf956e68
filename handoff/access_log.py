"""gunicorn's access log without customers' phone numbers and without secrets.

A WhatsApp id in a path (`/api/internal/customers/15551230001/messages`) becomes a keyed hash
(`wa:3f1c9a0b2d4e`): the same customer has the same id across log lines, so operators can follow one
customer without the log holding anyone's number. Tokens in query strings are masked.
Used by the Procfile: `gunicorn --logger-class handoff.access_log.AccessLogger`.
"""

from typing import Any, Dict

from gunicorn.glogging import Logger

from stack.components import scrub

SCRUBBED = ("r", "U", "q", "f", "{raw_uri}e", "{path_info}e", "{query_string}e", "{referer}i", "{request_uri}e")
DROPPED = ("{authorization}i", "{cookie}i", "{x-csrftoken}i")


class AccessLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Dict[str, Any], request_time: Any) -> Dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in SCRUBBED:
            if isinstance(atoms.get(name), str):
                atoms[name] = scrub(atoms[name])
        for name in DROPPED:
            if name in atoms:
                atoms[name] = "-"
        return atoms
