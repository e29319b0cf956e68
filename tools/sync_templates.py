"""Refresh whatsapp_templates.yml from the WhatsApp Business Account's approved templates.

    python -m tools.sync_templates            # write the file
    python -m tools.sync_templates --dry-run  # only show what would change

Reads GET /{waba-id}/message_templates with the configured token (the local stand-in when no Meta
token is set). What only the file knows (parameter types and lengths, quick-reply payloads) is kept for
templates that exist in both. Templates this platform cannot send (media headers, mismatched
placeholders) are listed and left out; the file is only written when the result loads cleanly.
Once written, the status and category overrides that Meta's webhooks left in Redis are cleared: the
file is Meta's current word (running processes read it again when it is replaced).
"""

import argparse
import sys
from pathlib import Path
from typing import Any

import redis
import yaml

from stack import components, settings
from whatsapp_cloud.graph.client import SyncGraphApiClient
from whatsapp_cloud.graph.errors import GraphApiError
from whatsapp_cloud.policy import registry_file
from whatsapp_cloud.policy.store import SyncPolicyStore


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=None, help="registry file (default: WHATSAPP_TEMPLATES_FILE)")
    parser.add_argument("--dry-run", action="store_true", help="print the result instead of writing it")
    args = parser.parse_args(argv)
    env = settings.resolve()
    path = args.file or components.policy_config(env).templates_file
    client = SyncGraphApiClient(components.cloud_api_config(env))
    try:
        graph = client.message_templates(env["WHATSAPP_WABA_ID"])
    except GraphApiError as exc:
        print(f"could not list the templates of WABA {env['WHATSAPP_WABA_ID']}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    if args.dry_run:
        current = yaml.safe_load(path.read_text()) if path.exists() else {}
        merged, skipped = registry_file.merge(graph, current or {})
    else:
        merged, skipped = registry_file.replace_all(path, graph)
    for reason in skipped:
        print(f"left out: {reason}", file=sys.stderr)
    if args.dry_run:
        print(registry_file.render(path, merged))
    else:
        print(f"{path}: {len(merged['templates'])} templates ({len(graph)} template languages from Meta)")
        try:
            store = SyncPolicyStore(components.redis_client(env), components.policy_config(env))
            store.reset_template_overrides()
        except redis.RedisError as exc:
            print(f"could not clear the template overrides in Redis ({exc}): they stay until Meta's next "
                  "status webhook", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
