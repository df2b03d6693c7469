#!/usr/bin/env python3
"""A reference crawler for HisCRM-IM Edge, in Python with the standard library only.

It does over plain HTTP what every crawler does (docs/CRAWLER.md):

- pushes a snapshot of an account (POST /api/v1/accounts/{id}/sync),
- says it is alive when it has nothing to push (POST /api/v1/accounts/{id}/health),
- polls the commands agents and admins gave (GET /api/v1/accounts/{id}/commands?status=pending),
  carries each out and reports the result (POST /api/v1/accounts/{id}/commands/{cid}/result),
- and puts each posted reply into its next snapshots under the id it reported, so the agent's
  message turns "sent" instead of a copy appearing.

The "platform" here is a small in-memory stand-in (one work, one conversation); a real crawler
scrapes it instead. Run `python3 crawler.py --help`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

USER_AGENT = "hiscrm-edge-python-crawler/1.0"


class BackendError(Exception):
    """The backend refused a request: its HTTP status and its error (PROTOCOL §3)."""

    def __init__(self, status: int, code: str, message: str, issues: list | None = None):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.issues = issues or []


class Backend:
    """The crawler's side of the HTTP API, with a token the backend verifies."""

    def __init__(self, url: str, token: str, timeout: float = 30.0, strict: bool = False):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        # Strict: a key the backend does not know is a 400 instead of a warning (RFC 7240).
        self.strict = strict

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("User-Agent", USER_AGENT)
        if data is not None:
            request.add_header("Content-Type", "application/json")
            if self.strict:
                request.add_header("Prefer", "handling=strict")
        # A 429 (too many pushes for this token) says how long to wait; wait once and retry.
        for attempt in range(2):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                answer = _error_body(error)
                if error.code == 429 and attempt == 0:
                    time.sleep(float(error.headers.get("Retry-After") or "1"))
                    continue
                raise BackendError(error.code, answer.get("code", "unknown"), answer.get("message", ""),
                                   answer.get("issues")) from None
        raise AssertionError("unreachable")

    def account_path(self, account_id: str, rest: str) -> str:
        return f"/api/v1/accounts/{urllib.parse.quote(account_id, safe='')}{rest}"

    def push(self, account_id: str, platform: str, snapshot: dict, crawler: dict) -> dict:
        body = {
            "type": "worker:data:sync",
            "accountId": account_id,
            "platform": platform,
            "timestamp": int(time.time() * 1000),  # integer milliseconds since the epoch
            "crawler": crawler,
            "snapshot": snapshot,
        }
        return self.request("POST", self.account_path(account_id, "/sync"), body)

    def health(self, account_id: str, crawler: dict) -> dict:
        return self.request("POST", self.account_path(account_id, "/health"), crawler)

    def pending_commands(self, account_id: str) -> list[dict]:
        # Listing pending commands counts as taking them: each comes once per attempt.
        return self.request("GET", self.account_path(account_id, "/commands?status=pending"))["commands"]

    def report_result(self, account_id: str, command_id: str, result: dict) -> dict:
        path = self.account_path(account_id, f"/commands/{urllib.parse.quote(command_id, safe='')}/result")
        return self.request("POST", path, result)


def _error_body(error: urllib.error.HTTPError) -> dict:
    try:
        return json.loads(error.read().decode("utf-8")).get("error") or {}
    except (ValueError, AttributeError):
        return {}


class Platform:
    """A stand-in for Douyin: one work with comments, one conversation with DMs."""

    def __init__(self, account_id: str):
        now = int(time.time())
        self.account_id = account_id
        self.work_id = f"{account_id}-work-1"
        self.conversation_id = f"{account_id}-conv-1"
        self.comments = [
            {"comment_id": f"{account_id}-c1", "work_id": self.work_id, "content": "这个产品的价格是多少？",
             "author_id": "u1", "author_name": "小明", "create_time": now - 120},
            {"comment_id": f"{account_id}-c2", "work_id": self.work_id, "content": "Love this colour!",
             "author_id": "u2", "author_name": "Vivian", "create_time": now - 60},
        ]
        self.messages = [
            {"msg_id": f"{account_id}-m1", "conversation_id": self.conversation_id, "content": "你好，请问还有货吗？",
             "sender": {"user_id": "u3", "user_name": "糖糖"}, "direction": "in", "create_time": now - 30},
        ]

    def snapshot(self) -> dict:
        """The account as the platform shows it now: every list, whole."""
        return {
            "contents": [{"work_id": self.work_id, "title": "新品口红试色", "publish_time": int(time.time()) - 3600}],
            "comments": list(self.comments),
            "conversations": [{"conversation_id": self.conversation_id, "participant": {"user_id": "u3", "user_name": "糖糖"}}],
            "messages": list(self.messages),
        }

    def post_reply(self, command: dict) -> str:
        """Posts an agent's reply; returns the id the platform gave it."""
        posted_id = f"{self.account_id}-posted-{uuid.uuid4().hex[:12]}"
        now = int(time.time())
        if command["topicKind"] == "conversation":
            self.messages.append({"msg_id": posted_id, "conversation_id": command["topicId"],
                                  "content": command["content"], "direction": "out", "create_time": now})
        else:
            self.comments.append({"comment_id": posted_id, "work_id": command["topicId"],
                                  "content": command["content"], "parent_comment_id": command.get("replyToId"),
                                  "author_name": "Brand", "create_time": now})
        return posted_id


def carry_out(backend: Backend, platform: Platform, account_id: str, done: dict, log) -> None:
    """Carries out every pending command once.

    A command stays pending (and listed) until its result is reported. `done` remembers the
    result of each (command id, attempt) already carried out, so a result whose report was lost
    is sent again without posting the reply twice.
    """
    for command in backend.pending_commands(account_id):
        if command["type"] != "reply":
            # A QR login: a real crawler reports the code (POST …/qrcode) and the statuses
            # (POST …/login/status); this stand-in has no login to show.
            log(f"{account_id}: command {command['id']} is a {command['type']}, not carried out here")
            continue
        key = (command["id"], command["attempts"])
        result = done.get(key)
        if result is None:
            try:
                posted_id = platform.post_reply(command)
                result = {"status": "sent", "platformMessageId": posted_id}
            except Exception as error:  # the platform refused: the backend retries up to COMMAND_MAX_ATTEMPTS
                result = {"status": "failed", "error": str(error)[:2000]}
            done[key] = result
        backend.report_result(account_id, command["id"], result)
        log(f"{account_id}: reply {command['id']} {result['status']}")


def run(args: argparse.Namespace, log=print) -> int:
    token = args.token or os.environ.get("CRAWLER_TOKEN")
    if not token:
        log("a crawler token is needed: --token, or CRAWLER_TOKEN (npm run -s token -- --role crawler)", file=sys.stderr)
        return 2
    backend = Backend(args.url, token, strict=args.strict)
    platforms = {account: Platform(account) for account in args.accounts}
    done: dict = {}
    crawler = {"intervalMs": int(args.interval * 1000), "login": "logged_in", "version": USER_AGENT}
    rounds = 0
    while True:
        for account_id, platform in platforms.items():
            try:
                # The push first: it creates the account on its first round, and commands exist
                # only for an account. A reply posted below is in the next round's snapshot.
                answer = backend.push(account_id, "douyin", platform.snapshot(), crawler)
                new = {kind: counts["new"] for kind, counts in answer["counts"].items() if counts["new"]}
                log(f"{account_id}: seq {answer['seq']}, new {new or 'nothing'}")
                for rejected in answer["rejected"]:
                    log(f"{account_id}: {rejected['kind']}[{rejected['index']}] rejected: {rejected['issues']}")
                for warning in answer.get("warnings", []):
                    log(f"{account_id}: warning {warning}")
                carry_out(backend, platform, account_id, done, log)
            except BackendError as error:
                log(f"{account_id}: {error}", file=sys.stderr)
                for issue in error.issues:
                    log(f"  {issue}", file=sys.stderr)
                if error.status in (401, 403):
                    return 1
            except urllib.error.URLError as error:
                log(f"{account_id}: cannot reach {args.url} ({error.reason}); trying again", file=sys.stderr)
        rounds += 1
        if args.once or (args.rounds and rounds >= args.rounds):
            return 0
        time.sleep(args.interval)


def interval(text: str) -> float:
    """--interval: what the backend accepts as `crawler.intervalMs` (1,000 to 3,600,000 ms)."""
    seconds = float(text)
    if not 1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"must be 1 to 3600 seconds, got {text}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("accounts", nargs="+", help="the account ids to crawl, e.g. douyin-1001")
    parser.add_argument("--url", default="http://127.0.0.1:8787", help="the backend (default %(default)s)")
    parser.add_argument("--token", help="a crawler token (default: $CRAWLER_TOKEN)")
    parser.add_argument("--interval", type=interval, default=30.0,
                        help="seconds between rounds, 1 to 3600 (default %(default)s); the backend shows the "
                             "account late after two intervals without a push")
    parser.add_argument("--once", action="store_true", help="one round: a push, then the commands, then exit")
    parser.add_argument("--strict", action="store_true",
                        help="have a push with a key the backend does not know refused (400) instead of warned about")
    parser.add_argument("--rounds", type=int, default=0, help="stop after this many rounds (default: never)")
    return run(parser.parse_args(argv), log=lambda *a, **k: print(*a, **k, flush=True))


if __name__ == "__main__":
    sys.exit(main())
