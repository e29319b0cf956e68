"""One parser for every yes/no setting: the same words mean the same thing in every process."""

import pytest

from analytics.config import AnalyticsConfig
from handoff.manage import demo_wanted
from handoff.settings import HandoffSettings
from stack import components
from stack.setting_values import ConfigError, flag, fraction, listed, phone_number


@pytest.mark.parametrize("text", ["1", "true", "TRUE", " yes ", "on"])
def test_true_words(text):
    assert flag(text) is True


@pytest.mark.parametrize("text", ["0", "false", "False", " no", "off"])
def test_false_words(text):
    assert flag(text, default=True) is False


@pytest.mark.parametrize("text", [None, "", "   "])
def test_unset_or_empty_gives_the_default(text):
    assert flag(text, default=True) is True
    assert flag(text, default=False) is False


def test_an_unknown_word_is_an_error_naming_the_setting():
    with pytest.raises(ConfigError, match="WHATSAPP_OPT_OUT_STRICT='ture'"):
        flag("ture", True, "WHATSAPP_OPT_OUT_STRICT")


def test_every_process_reads_an_empty_flag_alike():
    # An empty value used to be false for the policy and true for the channel and the handoff service.
    env = {"WHATSAPP_OPT_OUT_STRICT": "", "WHATSAPP_TEST_CLOCK": "", "HANDOFF_BACKGROUND": "",
           "REDIS_URL": "redis://localhost", "HANDOFF_API_TOKEN": "t", "HANDOFF_SECRET_KEY": "k"}
    assert components.policy_config(env).rules.opted_out_blocks_all_templates is True
    assert components.policy_config(env).test_clock is False
    assert HandoffSettings.from_env(env).background is True
    assert demo_wanted({"HANDOFF_DEMO": "", "USE_STANDIN": "1"}) is True
    assert demo_wanted({"HANDOFF_DEMO": "off", "USE_STANDIN": "1"}) is False


def test_lists():
    assert listed({"K": " a, b ,,c "}, "K", ("x",)) == ("a", "b", "c")
    assert listed({"K": " "}, "K", ("x",)) == ("x",)


def test_the_handoff_service_takes_the_event_streams_bound_from_the_settings():
    env = {"REDIS_URL": "redis://localhost", "HANDOFF_API_TOKEN": "t", "HANDOFF_SECRET_KEY": "k",
           "WHATSAPP_EVENTS_MAXLEN": "5000"}
    assert HandoffSettings.from_env(env).event_stream_max == 5000


def test_phone_numbers_become_digits_in_international_form():
    assert phone_number({"N": "+44 20 7946-0958"}, "N") == "442079460958"
    assert phone_number({"N": " "}, "N") == "" and phone_number({}, "N") == ""
    for bad in ("020 7946 0958", "+1 555", "call us", "+4420794609581234"):
        with pytest.raises(ConfigError, match="N="):
            phone_number({"N": bad}, "N")


def test_a_share_is_between_0_and_1_and_the_analytics_settings_read_it():
    assert fraction({}, "ANALYTICS_LOW_CONFIDENCE", 0.7) == 0.7
    assert fraction({"ANALYTICS_LOW_CONFIDENCE": " 0.55 "}, "ANALYTICS_LOW_CONFIDENCE", 0.7) == 0.55
    for wrong in ("1.5", "-0.1", "high"):
        with pytest.raises(ConfigError, match=f"ANALYTICS_LOW_CONFIDENCE={wrong!r}"):
            fraction({"ANALYTICS_LOW_CONFIDENCE": wrong}, "ANALYTICS_LOW_CONFIDENCE", 0.7)
    config = AnalyticsConfig.from_env({"ANALYTICS_LOW_CONFIDENCE": "0.6", "ANALYTICS_REVIEW_TEXT_DAYS": "14"})
    assert (config.low_confidence, config.review_text_seconds) == (0.6, 14 * 86400)
