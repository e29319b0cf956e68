"""Create message templates and follow Meta's review of them.

    python -m tools.templates create --file back_in_stock.yml      # YAML or JSON
    python -m tools.templates create --name back_in_stock --category UTILITY --language en_US \\
        --body "Hi {{first_name}}, the item you asked about is back. Reply to reserve it." \\
        --example first_name=Ana [--header ...] [--footer ...] [--button "Reserve it"]
    python -m tools.templates list                                  # submitted templates, their status

The file (or the flags) holds name, language, category, header, body, footer, buttons (quick-reply
texts) and parameters (name: example). The template is checked, submitted to the WABA
(`POST /{waba-id}/message_templates`) and kept; Meta's status webhooks move it to APPROVED (then it is
written into whatsapp_templates.yml) or REJECTED with the reason. The inbox's Templates page does the same.
"""

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict

import yaml

from stack import components, settings
from whatsapp_cloud.graph.errors import GraphApiError
from whatsapp_cloud.policy.template_drafts import DraftError, TemplateDraft
from whatsapp_cloud.policy.template_submissions import SubmissionError


def fields_from(args: argparse.Namespace) -> Dict[str, Any]:
    if args.file:
        text = args.file.read_text()
        data = json.loads(text) if args.file.suffix == ".json" else yaml.safe_load(text)
        if not isinstance(data, dict):
            raise DraftError(f"{args.file}: expected a mapping of name, language, category, body, ...")
        return data
    examples = {}
    for item in args.example or []:
        name, sep, example = item.partition("=")
        if not sep:
            raise DraftError(f"--example {item!r}: write name=example")
        examples[name.strip()] = example
    return {"name": args.name, "language": args.language, "category": args.category, "header": args.header,
            "body": args.body, "footer": args.footer, "buttons": args.button or [], "parameters": examples}


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="check a template and submit it for Meta's review")
    create.add_argument("--file", type=Path, help="the template as YAML or JSON")
    create.add_argument("--name")
    create.add_argument("--language", default="en_US")
    create.add_argument("--category", help="UTILITY, MARKETING or AUTHENTICATION")
    create.add_argument("--header", default="")
    create.add_argument("--body")
    create.add_argument("--footer", default="")
    create.add_argument("--button", action="append", help="a quick-reply button's text (repeat for more)")
    create.add_argument("--example", action="append", help="name=example for each parameter (repeat)")
    commands.add_parser("list", help="templates submitted from the app, newest first, with Meta's status")
    args = parser.parse_args(argv)
    env = settings.resolve()
    submissions = components.template_submissions(components.redis_client(env), env)
    if args.command == "list":
        for s in submissions.list():
            when = datetime.fromtimestamp(s["submitted_at"], tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
            reason = f"  {s['reason']}" if s["reason"] else ""
            print(f"{s['name']:<32} {s['language']:<6} {s['category']:<14} {s['status']:<9} {when} "
                  f"{s['submitted_by']}{reason}")
        return 0
    if not args.file and not (args.name and args.category and args.body):
        parser.error("create needs --file, or --name, --category and --body")
    try:
        draft = TemplateDraft.from_mapping(fields_from(args))
        submitted = submissions.submit(draft, by="command line")
    except (DraftError, SubmissionError, OSError, ValueError, yaml.YAMLError) as exc:
        print(f"not submitted: {exc}", file=sys.stderr)
        return 2
    except GraphApiError as exc:
        print(f"Meta refused the template: {exc}", file=sys.stderr)
        return 1
    print(f"{draft.name} ({draft.language}) submitted: id {submitted['id']}, {submitted['status']}; "
          "`python -m tools.templates list` shows Meta's review")
    return 0


if __name__ == "__main__":
    sys.exit(main())
