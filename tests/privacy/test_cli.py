"""`python -m privacy` as an operator runs it: export prints the document, erase asks for the number again."""

import json
import os
import subprocess
import sys
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
WA = "4915112349999"


def run(args, env, stdin=""):
    return subprocess.run([sys.executable, "-m", "privacy", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_export_then_erase_with_confirmation(redis_url, tmp_path):
    env = {**os.environ, "REDIS_URL": redis_url, "VAR_DIR": str(tmp_path), "SHOP_DEMO_DATA": "false",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", "MEDIA_DIR": str(tmp_path / "media"),
           "PRIVACY_HASH_KEY": "cli-key"}
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.set(f"wabot:tracker:{WA}", json.dumps({"sender_id": WA, "events": [{"event": "user", "text": "hi"}]}))

    exported = run(["export", "+" + WA], env)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["redis"]["keys"][0]["value"]["events"][0]["text"] == "hi"

    refused = run(["erase", WA], env, stdin="4915112340000\n")
    assert refused.returncode == 1 and client.exists(f"wabot:tracker:{WA}")

    erased = run(["erase", WA, "--by", "ops"], env, stdin=f"+{WA}\n")
    assert erased.returncode == 0, erased.stderr
    receipt = json.loads(erased.stdout[erased.stdout.index("{"):])
    assert receipt["by"] == "ops" and receipt["redis"]["rasa tracker"] == {"keys": 1}
    assert not client.exists(f"wabot:tracker:{WA}")
    client.close()
