"""The template registry: the file, parameter validation with Meta's codes, fallbacks, Graph API sync."""

import shutil

import pytest
import yaml

from stack.settings import ROOT
from whatsapp_cloud.policy import registry_file
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.fallbacks import FallbackFileError, Fallbacks, load
from whatsapp_cloud.policy.graph_templates import from_graph, to_graph
from whatsapp_cloud.policy.registry_file import merge
from whatsapp_cloud.policy.templates import RegistryFileError, TemplateError, TemplateRegistry

REGISTRY = TemplateRegistry.from_file(ROOT / "whatsapp_templates.yml")


def test_the_registry_file_has_the_templates_the_platform_uses():
    names = {(t.name, t.category) for t in REGISTRY}
    for expected in [("order_update", "UTILITY"), ("delivery_update", "UTILITY"), ("refund_update", "UTILITY"),
                     ("handoff_followup", "UTILITY"), ("conversation_followup", "UTILITY"),
                     ("opt_in_confirmation", "UTILITY"), ("weekend_promo", "MARKETING"),
                     ("verification_code", "AUTHENTICATION")]:
        assert expected in names
    assert REGISTRY.get("order_update", "es_ES") is not None


def test_build_fills_named_parameters_in_order():
    built = REGISTRY.build("order_update", "en_US", {"status": "shipped", "order_id": "1001"})
    assert built == {"name": "order_update", "language": {"code": "en_US"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "1001", "parameter_name": "order_id"},
                                        {"type": "text", "text": "shipped", "parameter_name": "status"}]}]}
    assert REGISTRY.render(built).startswith("Update on your order 1001: shipped.")


def test_authentication_template_is_positional_with_a_copy_code_button():
    built = REGISTRY.build("verification_code", "en_US", {"code": "482913"})
    assert built["components"][0]["parameters"] == [{"type": "text", "text": "482913"}]
    assert built["components"][1] == {"type": "button", "sub_type": "url", "index": "0",
                                      "parameters": [{"type": "text", "text": "482913"}]}
    with pytest.raises(TemplateError) as bad:
        REGISTRY.build("verification_code", "en_US", {"code": "12"})
    assert bad.value.code == 132008


def test_marketing_template_carries_its_opt_out_button_payload():
    built = REGISTRY.build("weekend_promo", "en_US", {"discount": "20%"})
    payloads = [c["parameters"][0]["payload"] for c in built["components"] if c["type"] == "button"]
    assert payloads == ["PROMO_SHOP", "STOP_PROMOTIONS"]


@pytest.mark.parametrize("values, code, words", [
    ({"order_id": "1001"}, 132008, "status is empty"),
    ({"order_id": "1001", "status": "line\nbreak"}, 132008, "new line"),
    ({"order_id": "1" * 21, "status": "x"}, 132008, "longer than 20"),
])
def test_bad_parameters_are_refused_before_sending(values, code, words):
    with pytest.raises(TemplateError) as refused:
        REGISTRY.build("order_update", "en_US", values)
    assert refused.value.code == code and words in refused.value.message


def test_check_answers_with_metas_codes():
    good = REGISTRY.build("order_update", "en_US", {"order_id": "1001", "status": "shipped"})
    assert REGISTRY.check(good).name == "order_update"
    with pytest.raises(TemplateError) as unknown:
        REGISTRY.check({"name": "order_update", "language": {"code": "de_DE"}})
    assert unknown.value.code == 132001
    short = {**good, "components": [{"type": "body", "parameters": good["components"][0]["parameters"][:1]}]}
    with pytest.raises(TemplateError) as count:
        REGISTRY.check(short)
    assert count.value.code == 132000
    paused = REGISTRY.with_overrides({"order_update:en_US": "PAUSED"}, {})
    with pytest.raises(TemplateError) as pause:
        paused.check(good)
    assert pause.value.code == 132015
    with pytest.raises(TemplateError) as disabled:
        REGISTRY.with_overrides({"order_update:en_US": "DISABLED"}, {}).check(good)
    assert disabled.value.code == 132016
    assert REGISTRY.with_overrides({}, {"order_update:en_US": "MARKETING"}).get("order_update", "en_US").category \
        == "MARKETING"


@pytest.mark.parametrize("entry, words", [
    ({"category": "PROMO", "languages": {"en_US": {"body": "x"}}}, "category"),
    ({"category": "UTILITY", "languages": {"en_US": {"body": "Hi {{name}}"}}}, "placeholders"),
    ({"category": "UTILITY", "parameters": {"body": ["name"]}, "languages": {"en_US": {"body": "Hi"}}},
     "placeholders"),
    ({"category": "UTILITY"}, "languages"),
    ({"category": "UTILITY", "parameters": {"body": [{"name": "n", "type": "colour"}]},
      "languages": {"en_US": {"body": "{{n}}"}}}, "unknown type"),
])
def test_a_broken_registry_entry_is_refused_with_its_name(entry, words):
    with pytest.raises(RegistryFileError) as refused:
        TemplateRegistry.from_mapping({"templates": {"broken": entry}})
    assert "broken" in str(refused.value) and words in str(refused.value)


FALLBACKS = load(ROOT / "whatsapp_templates.yml", ROOT / "template_fallbacks.yml")


def test_fallbacks_file_is_checked_against_the_registry_and_fills_from_slots():
    candidate = FALLBACKS.candidate("utter_order_update", {"order_id": "1004", "order_state": "packed"})
    assert candidate["template"]["name"] == "order_update"
    assert [p["text"] for p in candidate["template"]["components"][0]["parameters"]] == ["1004", "packed"]
    assert candidate["keep_original"] is False
    assert FALLBACKS.candidate("utter_order_update", {"order_id": "1004", "order_state": None}) is None
    assert FALLBACKS.candidate("utter_not_mapped", {}) is None
    followup = FALLBACKS.candidate("utter_handoff_resolved", {})
    assert followup == {"template": {"name": "conversation_followup", "language": {"code": "en_US"}},
                        "keep_original": True}
    assert FALLBACKS.default_candidate() == followup


def test_every_mapped_response_exists_in_the_domain():
    from rasa.shared.core.domain import Domain

    responses = set(Domain.load(str(ROOT / "domain.yml")).responses)
    assert set(FALLBACKS.by_response) <= responses, set(FALLBACKS.by_response) - responses


def test_the_rating_question_goes_as_a_template_whose_buttons_rate():
    candidate = FALLBACKS.candidate("utter_ask_csat", {})
    payloads = [c["parameters"][0]["payload"] for c in candidate["template"]["components"]]
    assert payloads == ['/csat{"csat_score":"5"}', '/csat{"csat_score":"3"}', '/csat{"csat_score":"1"}']


@pytest.mark.parametrize("entry, words", [
    ({"template": "no_such_template"}, "not in the registry"),
    ({"template": "order_update", "parameters": {"order_id": "{order_id}"}}, "takes parameters"),
    ({"parameters": {}}, "template"),
])
def test_a_broken_fallback_is_refused_at_load(entry, words):
    with pytest.raises(FallbackFileError) as refused:
        Fallbacks.from_mapping({"fallbacks": {"utter_x": entry}}, REGISTRY)
    assert "utter_x" in str(refused.value) and words in str(refused.value)


def test_the_default_fallback_takes_fixed_text_only():
    with pytest.raises(FallbackFileError, match="fixed text"):
        Fallbacks.from_mapping({"default": {"template": "handoff_followup",
                                            "parameters": {"agent_name": "{agent}"}}}, REGISTRY)
    fixed = Fallbacks.from_mapping({"default": {"template": "handoff_followup",
                                                "parameters": {"agent_name": "Our team"}}}, REGISTRY)
    assert fixed.default_candidate()["template"]["components"][0]["parameters"][0]["text"] == "Our team"
    assert Fallbacks.from_mapping({}, REGISTRY).default_candidate() is None


def test_graph_api_shape_round_trips_and_sync_keeps_local_knowledge():
    current = yaml.safe_load((ROOT / "whatsapp_templates.yml").read_text())
    graph = to_graph(REGISTRY)
    body = next(c for c in next(g for g in graph if g["name"] == "order_update")["components"] if c["type"] == "BODY")
    assert body["example"]["body_text_named_params"][0] == {"param_name": "order_id", "example": "1001"}
    merged, skipped = merge(graph, current)
    assert skipped == []
    again = TemplateRegistry.from_mapping(merged)
    assert {t.key: (t.body, t.category, t.status, t.parameters, t.quick_replies) for t in again} == \
        {t.key: (t.body, t.category, t.status, t.parameters, t.quick_replies) for t in REGISTRY}


def test_sync_leaves_out_what_cannot_be_sent_and_takes_metas_status():
    graph = [
        {"name": "new_notice", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
         "components": [{"type": "BODY", "text": "Hello {{name}}"}]},
        {"name": "order_update", "language": "en_US", "status": "PAUSED", "category": "UTILITY",
         "components": [{"type": "BODY", "text": "Update on your order {{order_id}}: {{status}}."}]},
        {"name": "broken", "language": "en_US", "status": "APPROVED", "category": "SOMETHING",
         "components": [{"type": "BODY", "text": "x"}]},
    ]
    merged, skipped = merge(graph, yaml.safe_load((ROOT / "whatsapp_templates.yml").read_text()))
    registry = TemplateRegistry.from_mapping(merged)
    assert registry.get("new_notice", "en_US").expected("body")[0].name == "name"
    assert registry.get("order_update", "en_US").status == "PAUSED"
    assert registry.get("order_update", "en_US").expected("body")[0].max_length == 20  # kept from the file
    assert len(skipped) == 1 and "broken" in skipped[0]
    assert from_graph([], {}) == {"templates": {}}


def test_a_registry_read_from_its_file_follows_the_file_when_it_is_replaced(tmp_path):
    path = tmp_path / "whatsapp_templates.yml"
    shutil.copy(PolicyConfig().templates_file, path)
    registry = TemplateRegistry.from_file(path)
    assert registry.get("back_in_stock", "en_US") is None
    registry_file.add(path, {"name": "back_in_stock", "language": "en_US", "category": "UTILITY", "id": "77",
                             "status": "APPROVED", "parameter_format": "NAMED", "components": [
                                 {"type": "BODY", "text": "Hi {{first_name}}, it is back. Reply to reserve it.",
                                  "example": {"body_text_named_params": [{"param_name": "first_name",
                                                                          "example": "Ana"}]}}]})
    assert registry.build("back_in_stock", "en_US", {"first_name": "Bo"})["name"] == "back_in_stock"  # no restart
    before = len(registry)
    path.write_text("templates: [not a mapping")  # a broken hand edit: the last good registry stays in use
    assert len(registry) == before and registry.get("back_in_stock", "en_US") is not None
