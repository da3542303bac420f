#!/usr/bin/env python3
"""FAKE EC2 instance metadata service (IMDSv2 only), for tests only: never the real one.

    tests/fakes/imds.py [--port 0] [--port-file F] [--role NAME] [--instance-id I] [--bind 127.0.0.1]

It answers on the loopback as the real service answers an instance whose metadata options require tokens
(http_tokens: required, as the project launches them):
- PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1-21600) gives a session token; without the
  header, with a bad TTL, or with an X-Forwarded-For header (the real service refuses proxied token requests) 400/403;
- every GET under /latest/ without a valid token (none, unknown, or past its TTL) is 401 (no IMDSv1);
- /latest/meta-data/instance-id, /latest/meta-data/iam/security-credentials/ (the role name) and
  /latest/meta-data/iam/security-credentials/<role> (temporary credentials in the real JSON shape, fake values);
- /latest/meta-data/spot/instance-action: 404 until an interruption is posted, then 200 with
  {"action": "terminate", "time": "<now + 2 min>"}.
Test control (not part of the real service): POST /_fake/interrupt posts the notice, POST /_fake/clear takes it back,
GET /_fake/requests gives the paths asked so far. Standard library only.
"""

import argparse
import datetime
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class State:
    def __init__(self, role, instance_id):
        self.role, self.instance_id = role, instance_id
        self.tokens = {}  # token -> time.monotonic() at which it expires
        self.notice = None
        self.requests = []
        self.lock = threading.Lock()


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def reply(self, code, body="", ctype="text/plain", headers=None):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self):  # noqa: N802 - http.server's naming
            with state.lock:
                state.requests.append(("PUT", self.path))
            if self.path != "/latest/api/token":
                return self.reply(404, "Not Found")
            if self.headers.get("X-Forwarded-For"):
                return self.reply(403, "Forbidden")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.reply(400, "Bad Request")
            token = secrets.token_urlsafe(32)
            with state.lock:
                state.tokens[token] = time.monotonic() + int(ttl)
            return self.reply(200, token, headers={"X-aws-ec2-metadata-token-ttl-seconds": ttl})

        def do_POST(self):  # noqa: N802
            if self.path == "/_fake/interrupt":
                now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
                with state.lock:
                    state.notice = {"action": "terminate", "time": iso(now + datetime.timedelta(minutes=2))}
                return self.reply(200, json.dumps(state.notice), "application/json")
            if self.path == "/_fake/clear":
                with state.lock:
                    state.notice = None
                return self.reply(200, "{}", "application/json")
            return self.reply(404, "Not Found")

        def do_GET(self):  # noqa: N802
            if self.path == "/_fake/requests":
                with state.lock:
                    return self.reply(200, json.dumps(state.requests), "application/json")
            with state.lock:
                state.requests.append(("GET", self.path))
                ok = time.monotonic() < state.tokens.get(self.headers.get("X-aws-ec2-metadata-token"), 0)
                notice = state.notice
            if not self.path.startswith("/latest/"):
                return self.reply(404, "Not Found")
            if not ok:
                return self.reply(401, "Unauthorized")
            creds = "/latest/meta-data/iam/security-credentials/"
            if self.path == "/latest/meta-data/instance-id":
                return self.reply(200, state.instance_id)
            if self.path == creds:
                return self.reply(200, state.role)
            if self.path == creds + state.role:
                now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
                return self.reply(
                    200,
                    json.dumps(
                        {
                            "Code": "Success",
                            "LastUpdated": iso(now),
                            "Type": "AWS-HMAC",
                            "AccessKeyId": "ASIAFAKEIMDS00000000",
                            "SecretAccessKey": "fake-imds-secret",  # noqa: S106 - fake
                            "Token": "fake-imds-session-token",
                            "Expiration": iso(now + datetime.timedelta(hours=6)),
                        }
                    ),
                    "application/json",
                )
            if self.path == "/latest/meta-data/spot/instance-action":
                if notice is None:
                    return self.reply(404, "Not Found")
                return self.reply(200, json.dumps(notice), "application/json")
            return self.reply(404, "Not Found")

    return Handler


def serve(port=0, bind="127.0.0.1", role="mocha-cloud-run", instance_id="i-0fake0000000000000"):
    """(server, state), serving in a daemon thread."""
    state = State(role, instance_id)
    server = ThreadingHTTPServer((bind, port), make_handler(state))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()  # a quick shutdown()
    return server, state


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port-file")
    ap.add_argument("--role", default="mocha-cloud-run")
    ap.add_argument("--instance-id", default="i-0fake0000000000000")
    args = ap.parse_args()
    state = State(args.role, args.instance_id)
    server = ThreadingHTTPServer((args.bind, args.port), make_handler(state))
    if args.port_file:
        Path(args.port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
