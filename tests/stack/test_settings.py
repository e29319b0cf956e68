from pathlib import Path
from typing import Dict

import pytest

from stack import settings


def resolve(tmp_path: Path, **env: str) -> Dict[str, str]:
    return settings.resolve({"VAR_DIR": str(tmp_path / "var"), "ENV_FILE": str(tmp_path / ".env"), **env})


def test_defaults_run_everything_locally_with_generated_secrets(tmp_path: Path) -> None:
    env = resolve(tmp_path)
    assert env["USE_STANDIN"] == "1" and env["START_REDIS"] == "1"
    assert env["WHATSAPP_API_BASE_URL"] == env["STANDIN_URL"] == "http://127.0.0.1:5070"
    assert env["REDIS_URL"] == f"redis://:{env['REDIS_LOCAL_PASSWORD']}@127.0.0.1:6390/0"
    assert env["REDIS_PASSWORD"] == env["REDIS_LOCAL_PASSWORD"] and len(env["REDIS_PASSWORD"]) >= 24
    assert env["WHATSAPP_WEBHOOK_URL"] == "http://127.0.0.1:5090/webhooks/whatsapp/webhook"  # the intake process
    assert len(env["RASA_API_TOKEN"]) >= 24 and env["WHATSAPP_APP_SECRET"] == env["STANDIN_APP_SECRET"]
    assert settings.processes(env) == ["redis", "ingest", "rasa", "actions", "handoff", "campaigns", "webhooks",
                                       "standin"]
    # Generated once, then kept across restarts.
    assert resolve(tmp_path)["RASA_API_TOKEN"] == env["RASA_API_TOKEN"]
    assert (tmp_path / "var" / "local.env").stat().st_mode & 0o777 == 0o600


def test_an_access_token_means_the_real_cloud_api_and_no_standin(tmp_path: Path) -> None:
    env = resolve(tmp_path, WHATSAPP_ACCESS_TOKEN="EAAG", WHATSAPP_APP_SECRET="s",
                  WHATSAPP_VERIFY_TOKEN="v", WHATSAPP_PHONE_NUMBER_ID="123")
    assert env["USE_STANDIN"] == "0" and "standin" not in settings.processes(env)
    assert env["WHATSAPP_API_BASE_URL"] == "https://graph.facebook.com"
    assert env["WHATSAPP_API_VERSION"] >= "v24.0"
    harness = resolve(tmp_path, WHATSAPP_ACCESS_TOKEN="t", WHATSAPP_APP_SECRET="s", WHATSAPP_VERIFY_TOKEN="v",
                      WHATSAPP_PHONE_NUMBER_ID="123", WHATSAPP_API_BASE_URL="http://127.0.0.1:8999")
    assert harness["WHATSAPP_API_BASE_URL"] == "http://127.0.0.1:8999"


def test_cloud_api_without_its_secrets_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(settings.ConfigError, match="WHATSAPP_APP_SECRET.*missing"):
        resolve(tmp_path, WHATSAPP_ACCESS_TOKEN="EAAG", WHATSAPP_VERIFY_TOKEN="v", WHATSAPP_PHONE_NUMBER_ID="1")


def test_redis_url_means_use_that_redis_and_start_none(tmp_path: Path) -> None:
    env = resolve(tmp_path, REDIS_URL="redis://:pw@redis.internal:6380/3")
    assert env["START_REDIS"] == "0" and "redis" not in settings.processes(env)
    assert (env["REDIS_HOST"], env["REDIS_SERVER_PORT"], env["REDIS_DB"], env["REDIS_PASSWORD"]) == (
        "redis.internal", "6380", "3", "pw")


def test_a_cluster_for_the_platform_and_a_plain_redis_for_rasas_stores(tmp_path: Path) -> None:
    with pytest.raises(settings.ConfigError, match="RASA_REDIS_URL"):
        resolve(tmp_path, REDIS_URL="redis+cluster://10.0.0.5:7000")
    env = resolve(tmp_path, REDIS_URL="rediss+cluster://app:pw@10.0.0.5:7000",
                  RASA_REDIS_URL="rediss://:tracker-pw@tracker.internal:6380/2")
    assert env["START_REDIS"] == "0" and env["REDIS_URL"] == "rediss+cluster://app:pw@10.0.0.5:7000"
    assert (env["REDIS_HOST"], env["REDIS_SERVER_PORT"], env["REDIS_DB"], env["REDIS_PASSWORD"]) == (
        "tracker.internal", "6380", "2", "tracker-pw")
    assert env["REDIS_USERNAME"] == "" and env["REDIS_TLS_CA"] == ""
    acl = resolve(tmp_path, REDIS_URL="rediss://rasa%2Dbot:s%40cret@redis.example.com:6380/0",
                  REDIS_TLS_CA="/etc/ca.pem")
    assert (acl["REDIS_USERNAME"], acl["REDIS_PASSWORD"], acl["REDIS_TLS_CA"]) == ("rasa-bot", "s@cret", "/etc/ca.pem")
    assert env["RASA_ENDPOINTS"] == "endpoints-tls.yml"
    with pytest.raises(settings.ConfigError, match="RASA_REDIS_URL"):
        resolve(tmp_path, REDIS_URL="redis+cluster://10.0.0.5:7000", RASA_REDIS_URL="redis+cluster://10.0.0.6:7000")
    with pytest.raises(settings.ConfigError, match="Sentinel.*RASA_REDIS_URL"):
        resolve(tmp_path, REDIS_URL="redis+sentinel://10.0.0.7:26379,10.0.0.8:26379/mymaster")
    assert resolve(tmp_path, REDIS_URL="redis+sentinel://10.0.0.7:26379,10.0.0.8:26379/mymaster",
                   RASA_REDIS_URL="redis://10.0.0.9:6379/0")["REDIS_HOST"] == "10.0.0.9"


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('# comment\nRASA_PORT=6005\nexport HANDOFF_PORT="6060"\n')
    env = resolve(tmp_path, HANDOFF_PORT="7060")
    assert env["RASA_PORT"] == "6005" and env["HANDOFF_PORT"] == "7060"


def test_click_to_chat_links_get_the_standins_demo_number_and_a_real_number_only_when_set(tmp_path: Path) -> None:
    assert resolve(tmp_path)["WHATSAPP_DISPLAY_PHONE_NUMBER"] == "12025550100"
    assert resolve(tmp_path, WHATSAPP_DISPLAY_PHONE_NUMBER="+44 20 7946 0958")[
        "WHATSAPP_DISPLAY_PHONE_NUMBER"] == "+44 20 7946 0958"
    meta = resolve(tmp_path, WHATSAPP_ACCESS_TOKEN="EAAG", WHATSAPP_APP_SECRET="s", WHATSAPP_VERIFY_TOKEN="v",
                   WHATSAPP_PHONE_NUMBER_ID="123")
    assert not meta.get("WHATSAPP_DISPLAY_PHONE_NUMBER")  # never the demo number on a real account


@pytest.mark.parametrize("bad", [{"RASA_PORT": "http"}, {"REDIS_PORT": "70000"}, {"REDIS_URL": "localhost:6379"},
                                 {"WHATSAPP_DISPLAY_PHONE_NUMBER": "call us"}])
def test_bad_values_are_config_errors(tmp_path: Path, bad: Dict[str, str]) -> None:
    with pytest.raises(settings.ConfigError):
        resolve(tmp_path, **bad)


def test_generated_secrets_never_look_like_command_line_options(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter(["-starts-with-a-dash", "a-proper-token"])
    monkeypatch.setattr(settings.secrets, "token_urlsafe", lambda _n: next(drawn))
    assert settings.new_secret() == "a-proper-token"


def test_the_started_redis_stays_on_loopback_unless_redis_bind_says_otherwise(tmp_path: Path) -> None:
    everywhere = resolve(tmp_path, BIND_HOST="0.0.0.0")
    assert everywhere["REDIS_BIND"] == "127.0.0.1" and "@127.0.0.1:6390" in everywhere["REDIS_URL"]
    shared = resolve(tmp_path, BIND_HOST="0.0.0.0", REDIS_BIND="10.0.0.5")
    assert "@10.0.0.5:6390" in shared["REDIS_URL"]


def test_a_managed_redis_over_tls_with_a_password(tmp_path: Path) -> None:
    env = resolve(tmp_path, REDIS_URL="rediss://default:p%40ss%3Aword@cache.example.com:6380/2")
    assert env["START_REDIS"] == "0" and env["REDIS_PASSWORD"] == "p@ss:word"
    assert env["RASA_ENDPOINTS"] == "endpoints-tls.yml"
    assert resolve(tmp_path)["RASA_ENDPOINTS"] == "endpoints.yml"


def test_urls_are_printed_without_their_password(tmp_path: Path) -> None:
    from stack.run import describe

    env = resolve(tmp_path)
    shown = describe(env, settings.processes(env))
    assert env["REDIS_LOCAL_PASSWORD"] not in shown and "redis://:***@127.0.0.1:6390/0" in shown
    managed = resolve(tmp_path, REDIS_URL="rediss://u:secretpw@cache.example.com:6380/0")
    assert "secretpw" not in describe(managed, settings.processes(managed))
    assert settings.redact_url("redis://127.0.0.1:6390/0") == "redis://127.0.0.1:6390/0"
    with pytest.raises(settings.ConfigError) as bad:
        resolve(tmp_path, REDIS_URL="http://:secretpw@cache.example.com:6380/0")
    assert "secretpw" not in str(bad.value)
