"""The FAKE instance metadata service (tests/fakes/imds.py) fails where the real IMDSv2 fails (an instance launched with
http_tokens required, as the project launches them), and botocore's own metadata client reads it as the real one."""

import json
import time
import urllib.error
import urllib.request

import pytest
from conftest import REPO, load_source

imds = load_source(REPO / "tests" / "fakes" / "imds.py", "fake_imds")

TTL = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN = "X-aws-ec2-metadata-token"
SPOT = "/latest/meta-data/spot/instance-action"


@pytest.fixture
def fake():
    server, state = imds.serve()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    server.server_close()


def call(url, method="GET", headers=None):
    """(status, body) of one request; the fake is reached directly, whatever proxy the environment names."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, method=method, headers=headers or {}), timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def token(base, ttl="60"):
    status, body = call(base + "/latest/api/token", "PUT", {TTL: ttl})
    assert status == 200 and body, (status, body)
    return body


def test_a_token_opens_the_metadata(fake):
    base, _ = fake
    assert call(base + "/latest/meta-data/instance-id", headers={TOKEN: token(base)}) == (200, "i-0fake0000000000000")


@pytest.mark.parametrize(
    "headers",
    [{}, {TOKEN: ""}, {TOKEN: "not-a-token-it-gave"}],
    ids=["no token (IMDSv1)", "empty token", "unknown token"],
)
def test_no_valid_token_is_401(fake, headers):
    base, _ = fake
    token(base)  # a token exists, but this request does not carry it
    for path in ("/latest/meta-data/instance-id", SPOT, "/latest/meta-data/iam/security-credentials/"):
        assert call(base + path, headers=headers)[0] == 401, path


@pytest.mark.parametrize(
    "headers, status",
    [
        ({}, 400),  # no TTL header
        ({TTL: ""}, 400),
        ({TTL: "0"}, 400),
        ({TTL: "21601"}, 400),  # above six hours
        ({TTL: "-5"}, 400),
        ({TTL: "ten"}, 400),
        ({TTL: "60", "X-Forwarded-For": "10.0.0.7"}, 403),  # a proxied token request
    ],
    ids=["no ttl", "empty ttl", "ttl 0", "ttl too long", "negative ttl", "ttl not a number", "x-forwarded-for"],
)
def test_token_requests_the_real_service_refuses(fake, headers, status):
    base, state = fake
    code, body = call(base + "/latest/api/token", "PUT", headers)
    assert code == status and body not in state.tokens
    assert not state.tokens


def test_a_token_ends_with_its_ttl(fake):
    base, _ = fake
    short, long = token(base, "1"), token(base, "21600")
    assert call(base + "/latest/meta-data/instance-id", headers={TOKEN: short})[0] == 200
    time.sleep(1.2)
    assert call(base + "/latest/meta-data/instance-id", headers={TOKEN: short})[0] == 401
    assert call(base + "/latest/meta-data/instance-id", headers={TOKEN: long})[0] == 200


def test_the_spot_notice_is_posted_and_taken_back(fake):
    base, state = fake
    auth = {TOKEN: token(base)}
    assert call(base + SPOT, headers=auth)[0] == 404  # no notice: the real service answers 404
    status, posted = call(base + "/_fake/interrupt", "POST")
    assert status == 200
    status, body = call(base + SPOT, headers=auth)
    assert status == 200 and json.loads(body) == json.loads(posted)
    notice = json.loads(body)
    assert notice["action"] == "terminate"
    left = time.mktime(time.strptime(notice["time"], "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime())
    assert 100 <= left <= 120  # the two-minute warning
    assert call(base + "/_fake/clear", "POST")[0] == 200
    assert call(base + SPOT, headers=auth)[0] == 404
    status, seen = call(base + "/_fake/requests")
    assert json.loads(seen) == [["PUT", "/latest/api/token"], ["GET", SPOT], ["GET", SPOT], ["GET", SPOT]]


def test_botocore_reads_the_instance_credentials_through_imdsv2_only(fake):
    from botocore.utils import InstanceMetadataFetcher

    base, state = fake
    creds = InstanceMetadataFetcher(timeout=5, num_attempts=1, base_url=base, env={}).retrieve_iam_role_credentials()
    assert creds["role_name"] == "mocha-cloud-run" and creds["access_key"] == "ASIAFAKEIMDS00000000" and creds["token"]
    assert [m for m, _ in state.requests] == ["PUT", "GET", "GET"]  # a token first, then the role and its credentials
    state.tokens.clear()
    with state.lock:
        state.requests.clear()
    # Without a usable token (the fake gives none for a proxied request) botocore's IMDSv1 fallback gets 401: nothing.
    fetcher = InstanceMetadataFetcher(timeout=5, num_attempts=1, base_url=base, env={})
    fetcher._fetch_metadata_token = lambda: None  # as botocore does after a 403/404/405 token answer
    assert fetcher.retrieve_iam_role_credentials() == {}
    assert state.requests and all(m == "GET" for m, _ in state.requests)
