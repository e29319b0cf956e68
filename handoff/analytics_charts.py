"""The analytics figures as charts: inline SVG drawn on the server by pygal, for the dashboard page.

Each chart is plain SVG with its values printed on it, so it needs no script and nothing from another
site: pygal's own script tag (tooltips, loaded from its CDN by default) is removed from every chart. Text
in the SVG (reasons, agents, error codes) is escaped by the XML serialiser. Which table of
analytics/tables.py holds each chart's numbers is named, so the page links the chart to its CSV.
"""

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pygal
from markupsafe import Markup
from pygal.style import Style

# The inbox's colours (handoff/static/inbox.css); the first two are the bot's and the agents' everywhere.
STYLE = Style(
    background="transparent", plot_background="#ffffff", foreground="#1c1e21", foreground_strong="#1c1e21",
    foreground_subtle="#ccd0d5", font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    colors=("#128c7e", "#f29b38", "#6a5acd", "#d93025", "#34b7f1", "#7f8c8d"),
    label_font_size=13, major_label_font_size=13, value_font_size=13, legend_font_size=13,
    tooltip_font_size=13, no_data_font_size=20,
)


@dataclass(frozen=True)
class Chart:
    name: str  # the element id on the page
    title: str
    table: str  # the table of analytics/tables.py with these numbers
    svg: Markup


def _no_script(root: Any) -> Any:
    for defs in root.iter("defs"):
        for script in list(defs.iter("script")):
            defs.remove(script)
    return root


def _chart(kind: Callable[..., Any], **options: Any) -> Any:
    defaults = dict(
        style=STYLE, js=[], disable_xml_declaration=True,
        # Drawn at 640 x 340 and scaled by the page to its width (viewBox), down to a phone's.
        width=640, height=340, explicit_size=False, margin=12, print_values=True, legend_at_bottom=True,
        truncate_label=-1, truncate_legend=-1, no_data_text="no data in this range")
    return kind(**{**defaults, **options}).add_xml_filter(_no_script)


def _svg(chart: Any) -> Markup:
    return Markup(chart.render(is_unicode=True))  # noqa: S704 - pygal's serialiser escaped every text in it


def _bars(series: Sequence[Tuple[str, Sequence[Optional[float]]]], labels: Sequence[str], horizontal: bool = False,
          formatter: Callable[[Any], str] = lambda v: f"{v:g}", **options: Any) -> Markup:
    chart = _chart(pygal.HorizontalBar if horizontal else pygal.Bar, x_labels=list(labels),
                   show_legend=len(series) > 1, value_formatter=formatter, **options)
    for title, values in series:
        chart.add(title, list(values))
    return _svg(chart)


def _whole(values: Sequence[Optional[float]]) -> Dict[str, Any]:
    """An axis of whole numbers for counts (pygal would mark 0.2, 0.4, ... under a count of 1)."""
    top = int(max([v for v in values if v is not None] or [0]))
    step = max(1, -(-top // 8))
    return {"y_labels": list(range(0, top + step + 1, step)) if top else [0, 1]}


def _counts(counts: Dict[str, int]) -> Tuple[List[str], List[int]]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, _ in ordered], [n for _, n in ordered]


def _percent(rate: Optional[float]) -> Optional[float]:
    return None if rate is None else round(rate * 100, 1)


def _seconds(value: Any) -> str:
    if value >= 120:
        return f"{value / 60:.1f} min"
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def charts(figures: Dict[str, Any]) -> List[Chart]:
    conversations, delivery, cost = figures["conversations"], figures["delivery"], figures["cost"]
    days = conversations["by_day"]
    reasons, reason_counts = _counts(figures["handoff_reasons"])
    codes, code_counts = _counts(delivery["failed_by_code"])
    # Agent first response: everyone, then each agent (who answered first), p50 and p90 in wall time.
    responders = [("all agents", figures["agent_first_response_seconds"])] + [
        (name, entry["first_response_seconds"]) for name, entry in figures["agents"].items()]
    csat = figures["csat"]
    nlu = figures["nlu"]
    intents, intent_counts = [i["intent"] for i in nlu["top_intents"]], [i["messages"] for i in nlu["top_intents"]]
    read = nlu["messages"]
    categories = list(cost["by_category"])
    currency = cost["currency"] or ""

    def money(value: float) -> str:
        return f"{value:.4f} {currency}".strip()

    return [
        Chart("conversations", "Conversations per day", "conversations", _bars(
            [("customer-initiated", [d["customer_initiated"] for d in days]),
             ("proactive", [d["proactive"] for d in days])],
            [d["date"][5:] for d in days],
            **_whole([d["customer_initiated"] + d["proactive"] for d in days]),
            x_label_rotation=-45 if len(days) > 10 else 0,
            show_minor_x_labels=len(days) <= 16, x_labels_major_every=max(1, len(days) // 8), print_values=False)),
        Chart("containment", "Containment and handoffs (% of customer-initiated conversations)", "summary", _bars(
            [("rate", [_percent(figures["containment_rate"]), _percent(figures["durable_containment_rate"]),
                       _percent(figures["handoff_rate"])])],
            ["contained", "durably contained", "handed to a person"], horizontal=True, range=(0, 100),
            formatter=lambda v: f"{v:g}%")),
        Chart("handoff-reasons", "Handoffs by reason", "handoff_reasons",
              _bars([("handoffs", reason_counts)], reasons, horizontal=True, **_whole(reason_counts))),
        Chart("first-response", "Agent first response from the handoff (wall time)", "people", _bars(
            [("p50", [p["p50"] for _, p in responders]), ("p90", [p["p90"] for _, p in responders])],
            [name for name, _ in responders], formatter=_seconds)),
        Chart("csat", "CSAT: average rating (1-5), settled by the bot or an agent", "csat", _bars(
            [("average rating", [csat["bot"]["average"], csat["agent"]["average"]])],
            ["bot", "agent"], range=(0, 5), formatter=lambda v: f"{v:.2f}")),
        Chart("fallback", "NLU: customer messages that fell back or scored low (%)", "nlu", _bars(
            [("rate", [_percent(figures["fallback_rate"]), _percent(nlu["low_confidence_rate"]),
                       _percent(nlu["out_of_scope"] / read if read else None)])],
            ["fell back", f"low confidence (< {nlu['low_confidence_threshold']:g})", "out of scope"],
            horizontal=True, range=(0, 100), formatter=lambda v: f"{v:g}%")),
        Chart("intents", "Top intents of customer messages", "intents",
              _bars([("messages", intent_counts)], intents, horizontal=True, **_whole(intent_counts))),
        Chart("delivery", "Delivery of everything sent", "delivery", _bars(
            [("messages", [delivery[stage] for stage in ("sent", "delivered", "read", "failed", "refused")])],
            ["sent", "delivered", "read", "failed", "refused"], horizontal=True,
            **_whole([delivery["sent"], delivery["refused"]]))),
        Chart("failures", "Failed and refused messages by Meta error code", "failures",
              _bars([("messages", code_counts)], codes, horizontal=True, **_whole(code_counts))),
        Chart("cost", f"WhatsApp cost by category ({currency})", "cost", _bars(
            [("amount", [cost["by_category"][name]["amount"] for name in categories])], categories, formatter=money,
            show_y_labels=False)),  # the amounts are printed on the bars
        Chart("cost-per-conversation", f"WhatsApp cost per conversation ({currency})", "summary", _bars(
            [("cost", [cost["per_contained"], cost["per_resolved"]])],
            ["per contained conversation", "per resolved conversation"], horizontal=True, formatter=money,
            show_x_labels=False)),  # pygal's horizontal charts swap the axes: these are the amounts
    ]
