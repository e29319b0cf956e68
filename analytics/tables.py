"""The figures as titled tables (header and rows): what `make report` prints and the dashboard exports as CSV."""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional


@dataclass(frozen=True)
class Table:
    name: str  # short, for file names
    title: str
    header: List[str]
    rows: List[List[Any]]


def tables(figures: Dict[str, Any]) -> List[Table]:
    conversations, cost, delivery = figures["conversations"], figures["cost"], figures["delivery"]
    currency = cost["currency"] or ""
    summary = [
        ["customer-initiated conversations", conversations["customer_initiated"]],
        ["proactive conversations", conversations["proactive"]],
        ["containment", _percent(figures["containment_rate"])],
        ["durable containment" + ("" if figures["durable_containment_final"] else " (provisional)"),
         _percent(figures["durable_containment_rate"])],
        ["handoff rate", _percent(figures["handoff_rate"])],
        ["handoffs", figures["handoffs"]],
        ["fallback rate", _percent(figures["fallback_rate"])],
        ["conversations open now", figures["open_now"]["conversations"]],
        ["service windows open now", figures["open_now"]["windows"]],
        [f"WhatsApp cost ({currency})", cost["total"]],
        ["cost per contained conversation", cost["per_contained"]],
        ["cost per resolved conversation", cost["per_resolved"]],
    ]
    times = [["queue wait", *_p(figures["queue_wait_seconds"])],
             ["agent first response (wall time)", *_p(figures["agent_first_response_seconds"])]]
    if figures.get("agent_first_response_office_seconds"):
        times.append(["agent first response (office hours)", *_p(figures["agent_first_response_office_seconds"])])
    times.append(["resolution", *_p(figures["resolution_seconds"])])
    people = [[kind, name, entry["handoffs"], *_p(entry["first_response_seconds"])[:2],
               *_p(entry["resolution_seconds"])[:2]]
              for kind in ("team", "agent") for name, entry in figures[kind + "s"].items()]
    csat = [[who, c["asked"], c["ratings"], c["answered"], _percent(c["response_rate"]), c["average"]]
            for who, c in figures["csat"].items()]
    nlu = figures["nlu"]
    nlu_health = [
        ["customer messages read", nlu["messages"]],
        ["fell back (NLU below its threshold)", nlu["fell_back_by"]["nlu"]],
        ["fell back (dialogue policy)", nlu["fell_back_by"]["core"]],
        ["fallback rate", _percent(figures["fallback_rate"])],
        [f"low confidence (below {nlu['low_confidence_threshold']})", nlu["low_confidence"]],
        ["out of scope", nlu["out_of_scope"]],
    ]
    holds = [[decision, reason, n]
             for decision, reasons in figures["policy_holds"].items() for reason, n in reasons.items()]
    return [
        Table("summary", f"Summary {figures['from']} to {figures['to']}" + (f", team {figures['team']}"
                                                                            if figures["team"] else ""),
              ["figure", "value"], summary),
        Table("conversations", "Conversations per day", ["date", "customer-initiated", "proactive"],
              [[d["date"], d["customer_initiated"], d["proactive"]] for d in conversations["by_day"]]),
        Table("handoff_reasons", "Handoffs by reason", ["reason", "handoffs"], _pairs(figures["handoff_reasons"])),
        Table("times", "Handoff times (seconds)", ["measure", "p50", "p90", "count"], times),
        Table("people", "Teams and agents (seconds)",
              ["", "name", "handoffs", "first response p50", "p90", "resolution p50", "p90"], people),
        Table("csat", "CSAT", ["settled by", "asked", "ratings", "answering a question", "response rate",
                               "average"], csat),
        Table("nlu", "NLU health", ["figure", "value"], nlu_health),
        Table("intents", "Top intents", ["intent", "messages"],
              [[i["intent"], i["messages"]] for i in nlu["top_intents"]]),
        Table("delivery", "Delivery", ["stage", "messages"],
              [[stage, delivery[stage]] for stage in ("sent", "delivered", "read", "failed", "refused")]),
        Table("failures", "Failed and refused messages by Meta error code", ["code", "messages"],
              _pairs(delivery["failed_by_code"])),
        Table("template_fallbacks", "Messages sent as their template", ["template", "messages"],
              _pairs(figures["template_fallbacks"])),
        Table("policy_holds", "Messages held by the messaging rules", ["decision", "reason", "messages"], holds),
        Table("cost", f"WhatsApp cost by category ({currency})", ["category", "messages", "charged", "amount",
                                                                 "Meta's pricing"],
              [[name, c["messages"], c["charged"], c["amount"], cost["meta_priced"].get(name, 0)]
               for name, c in cost["by_category"].items()]),
        Table("cost_by_day", f"WhatsApp cost by day ({currency})", ["date", "amount"],
              [[d["date"], d["total"]] for d in cost["by_day"]]),
    ]


def render(table: Table) -> str:
    """A plain-text table for a terminal."""
    cells = [[_cell(v) for v in row] for row in [table.header, *table.rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.header))]
    lines = [table.title, "-" * len(table.title)]
    for n, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if n and _numeric(c) else c.ljust(w) for c, w in zip(row, widths,
                                                                                            strict=True)).rstrip())
    if not table.rows:
        lines.append("(none)")
    return "\n".join(lines)


def _pairs(counts: Dict[str, int]) -> List[List[Any]]:
    return [[name, n] for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _p(percentiles: Dict[str, Any]) -> List[Any]:
    return [percentiles["p50"], percentiles["p90"], percentiles["count"]]


def _percent(rate: Optional[float]) -> Optional[str]:
    return None if rate is None else f"{rate * 100:.1f}%"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace("%", "").replace("-", "", 1).isdigit() or text == "-"
