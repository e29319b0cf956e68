"""The whole system started as `make run` starts it (on free ports), with what the tests do to it: a
customer writing through the stand-in, the handoff API, the bot's tracker, the `say` command."""

import re
import subprocess
import sys
import time
from typing import Any, Dict, List

import requests

from stack.background import BackgroundStack
from stack.settings import ROOT


class Stack(BackgroundStack):
    @property
    def env_(self) -> Dict[str, str]:
        return self.resolved()

    def handoff(self, method: str, path: str, token: str = "", **kwargs: Any) -> requests.Response:
        token = token or self.env_["HANDOFF_API_TOKEN"]
        return requests.request(method, self.env_["HANDOFF_URL"] + path, timeout=30,
                                headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def customer_writes(self, wa_id: str, text: str) -> str:
        answer = requests.post(f"{self.env_['STANDIN_URL']}/_standin/customers/{wa_id}/messages",
                               json={"text": text, "name": "Ana"}, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["wamid"]

    def outbox(self, wa_id: str, after: int = 0, wait: float = 0) -> List[Dict[str, Any]]:
        return requests.get(f"{self.env_['STANDIN_URL']}/_standin/outbox", timeout=60,
                            params={"to": wa_id, "after": after, "wait": wait}).json()["messages"]

    def quiet_outbox(self, wa_id: str, after: int = 0) -> List[Dict[str, Any]]:
        """Everything sent to the customer after `after`, once the bot has stopped for 2 s."""
        sent = self.outbox(wa_id, after=after, wait=30)
        while sent:
            more = self.outbox(wa_id, after=sent[-1]["seq"], wait=2)
            if not more:
                break
            sent += more
        return sent

    def tracker(self, wa_id: str) -> Dict[str, Any]:
        return requests.get(f"{self.env_['RASA_URL']}/conversations/{wa_id}/tracker", timeout=30,
                            params={"token": self.env_["RASA_API_TOKEN"]}).json()

    def agent_token(self, username: str) -> str:
        answer = requests.post(self.env_["HANDOFF_URL"] + "/api/auth/token", timeout=10, json={
            "username": username, "password": self.env_["HANDOFF_DEMO_PASSWORD"]})
        assert answer.status_code == 201, answer.text
        return answer.json()["token"]


def wait_until(check: Any, timeout: float = 30, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"still not true after {timeout}s: {check}")


class RunningStack(BackgroundStack):
    def say(self, text: str, wa_id: str, name: str = "Sam Lee") -> str:
        done = subprocess.run(
            [sys.executable, "-m", "cloud_api_standin.say", "--from", wa_id, "--name", name, text],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=90,
        )
        problems = [line for line in self.lines if not re.search(r"Deprecat|setParseAction|parseString", line)]
        assert done.returncode == 0, done.stderr + "\n".join(problems[-60:])
        return done.stdout
