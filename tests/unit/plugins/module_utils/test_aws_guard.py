"""plugins/module_utils/aws_guard.py: the limits on cost and exposure, and the EC2 tag checks."""

import base64
import re
import subprocess

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import aws_guard, aws_results, names

# --- SSH source -------------------------------------------------------------------------------------------

ACCEPTED_SOURCES = {
    "203.0.113.7/32": "203.0.113.7/32",
    "203.0.113.7": "203.0.113.7/32",           # one address is a /32
    "10.0.0.0/8": "10.0.0.0/8",                 # the broadest IPv4 prefix accepted
    "2001:db8::1": "2001:db8::1/128",
    "2001:db8::/64": "2001:db8::/64",
    "2001:0db8:0000::/32": "2001:db8::/32",     # the broadest IPv6 prefix accepted, in its canonical spelling
}


@pytest.mark.parametrize("given", list(ACCEPTED_SOURCES))
def test_ssh_sources_accepted_and_canonical(given):
    assert aws_guard.ssh_source_problem(given) is None
    assert aws_guard.canonical_ssh_source(given) == ACCEPTED_SOURCES[given]


REFUSED_SOURCES = {
    "0.0.0.0/0": r"Refusing to open SSH to 0\.0\.0\.0/0 \(the whole Internet\)",
    "::/0": r"Refusing to open SSH to ::/0 \(the whole Internet\)",
    "::/00": r"Refusing to open SSH to ::/0 \(the whole Internet\)",          # the spelling amazon.aws normalised
    "0:0:0:0:0:0:0:0/0": r"Refusing to open SSH to ::/0",
    "0.0.0.0/1": r"Refusing to open SSH to 0\.0\.0\.0/1: 2,147,483,648 addresses \(50% of the IPv4 Internet\)",
    "128.0.0.0/1": r"128\.0\.0\.0/1: 2,147,483,648 addresses",
    "10.0.0.0/7": r"10\.0\.0\.0/7: .* broader than /8",
    "2001:db8::/31": r"2001:db8::/31: 2\^97 addresses .* broader than /32",
    "2000::/3": r"2000::/3: 2\^125 addresses",
    "::ffff:0:0/96": r"IPv4-mapped",
    "203.0.113.7/24": r"has host bits set: give the network 203\.0\.113\.0/24 or the single address 203\.0\.113\.7/32",
    "203.0.113.7/32\n": r"is not a CIDR",                                     # a trailing newline is not ignored
    " 203.0.113.7/32": r"is not a CIDR",
    "203.0.113.7/33": r"is not a CIDR",
    "010.0.0.1/32": r"is not a CIDR",                                          # octal-looking octets are refused
    "my-laptop": r"is not a CIDR",
    "": r"is not a CIDR",
    "0.0.0.0/32": r"not a source address range",
    "224.0.0.0/8": r"not a source address range",
}


@pytest.mark.parametrize("given", list(REFUSED_SOURCES))
def test_ssh_sources_refused(given):
    problem = aws_guard.ssh_source_problem(given)
    assert problem is not None
    assert re.search(REFUSED_SOURCES[given], problem), problem


@pytest.mark.parametrize("given", ["0.0.0.0/0", "::/00", "0.0.0.0/1", "2001:db8::/31"])
def test_world_and_broad_sources_only_with_the_flag(given):
    assert aws_guard.ssh_source_problem(given, allow_world=True) is None
    assert aws_guard.limit_problems({"ssh_cidr": given, "allow_world_ssh": True}) == []
    assert aws_guard.limit_problems({"ssh_cidr": given, "allow_world_ssh": "false"}) != []


def test_malformed_source_is_refused_even_with_the_flag():
    assert "is not a CIDR" in aws_guard.ssh_source_problem("0.0.0.0/0; echo", allow_world=True)


# --- Cost ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hours", [4, "4", 0.5, 168, "168"])
def test_max_hours_accepted(hours):
    assert aws_guard.max_hours_problem(hours) is None


@pytest.mark.parametrize("hours,message", [
    (1000000, "at most 168"), (168.01, "at most 168"), (0, "more than 0"), (-1, "more than 0"),
    (float("inf"), "finite"), ("inf", "finite"), ("nan", "finite"), ("Infinity", "finite"),
    ("four", "a number"), (True, "a number"), (None, "a number"),
])
def test_max_hours_refused(hours, message):
    assert message in aws_guard.max_hours_problem(hours)


@pytest.mark.parametrize("count,ok", [(1, True), (8, True), ("2", True), (0, False), (9, False), (100, False),
                                      (1.5, False), ("inf", False)])
def test_count_limits(count, ok):
    assert (aws_guard.count_problem(count) is None) is ok


@pytest.mark.parametrize("size,ok", [(8, True), (100, True), (1024, True), (7, False), (1025, False), (5000, False)])
def test_volume_limits(size, ok):
    assert (aws_guard.volume_problem(size) is None) is ok


def test_ceilings_are_the_documented_ones():
    """docs/aws.md states the ceilings; the constants are what is enforced."""
    from conftest import REPO

    docs = " ".join((REPO / "docs" / "aws.md").read_text().split())
    assert aws_guard.LIMITS == {"max_hours": 168.0, "count": 8, "volume_size_gb": 1024}
    for text in ("at most 168", "1 to 8", "8 to 1024"):
        assert text in docs, text


# --- Bastion, names, users, tags ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["bastion.example.org", "ubuntu@bastion.example.org", "ec2-user@10.0.0.5:2222",
                                   "[2001:db8::1]:22", "admin@[2001:db8::1]", "jump"])
def test_bastion_accepted(value):
    assert aws_guard.bastion_problem(value) is None


@pytest.mark.parametrize("value", [
    "x -o PermitLocalCommand=yes -o LocalCommand=touch /tmp/pwned", "-oProxyCommand=sh", "host\n", "host;id",
    "a@b@c", "host:0", "host:65536", "[zz::1]", "user@", "@host", "host,other", "host -p 2", "Root@host",
])
def test_bastion_refused(value):
    problem = aws_guard.bastion_problem(value)
    assert problem and problem.startswith(f"aws_gpu_instance_bastion {value!r}"), problem
    assert re.search(r"is not \[user@\]host\[:port\]|port \d+ is not 1-65535|is not an IPv6 address", problem), problem


@pytest.mark.parametrize("settings,fragment", [
    ({"run_id": "exp1\n"}, "aws_gpu_instance_run_id"),
    ({"project": "../x"}, "aws_gpu_instance_project"),
    ({"key_name": "../../etc/x"}, "aws_gpu_instance_key_name"),
    ({"users": ["ubuntu", "-oProxyCommand=x"]}, "SSH user names"),
    ({"extra_tags": {"mocha-cloud:bastion": "evil"}}, "may not set mocha-cloud:bastion"),
    ({"extra_tags": {"aws:cloudformation:x": "y"}}, "may not set aws:cloudformation:x"),
])
def test_other_settings_refused(settings, fragment):
    problems = aws_guard.limit_problems(settings)
    assert len(problems) == 1 and fragment in problems[0], problems


def test_defaults_pass_and_every_problem_is_reported_at_once():
    import yaml
    from conftest import REPO

    d = yaml.safe_load((REPO / "roles/aws_gpu_instance/defaults/main.yml").read_text())
    settings = {"max_hours": d["aws_gpu_instance_max_hours"], "count": d["aws_gpu_instance_count"],
                "volume_size_gb": d["aws_gpu_instance_volume_size_gb"], "ssh_cidr": d["aws_gpu_instance_ssh_cidr"],
                "allow_world_ssh": d["aws_gpu_instance_allow_world_ssh"], "bastion": d["aws_gpu_instance_bastion"],
                "public_key_file": d["aws_gpu_instance_public_key_file"], "extra_tags": d["aws_gpu_instance_extra_tags"],
                "run_id": d["aws_gpu_instance_run_id"], "project": d["aws_gpu_instance_project"],
                "key_name": d["aws_gpu_instance_key_name"],
                "users": [d["aws_gpu_instance_default_user"]] + [r["user"] for r in d["aws_gpu_instance_ami_user_rules"]]}
    assert aws_guard.limit_problems(settings) == []
    bad = dict(settings, max_hours=1000000, count=100, ssh_cidr="::/00")
    assert len(aws_guard.limit_problems(bad)) == 3


# --- Public key file ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    for kind in ("ed25519", "rsa", "ecdsa"):
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "test", "-f", str(d / f"id_{kind}")], check=True)
    return d


def test_openssh_public_keys_accepted(keys):
    assert aws_guard.public_key_problem(str(keys / "id_ed25519.pub")) is None
    assert aws_guard.public_key_problem(str(keys / "id_rsa.pub")) is None


def test_private_key_refused_with_the_file_to_use(keys):
    problem = aws_guard.public_key_problem(str(keys / "id_ed25519"))
    assert "holds a PRIVATE KEY" in problem
    assert f"give its public half, {keys / 'id_ed25519.pub'}" in problem
    assert "BEGIN" not in problem and "AAAA" not in problem  # nothing of the key is echoed


def test_private_key_named_pub_is_refused(keys, tmp_path):
    wrong = tmp_path / "id_ed25519.pub"
    wrong.write_bytes((keys / "id_ed25519").read_bytes())
    problem = aws_guard.public_key_problem(str(wrong))
    assert "holds a PRIVATE KEY" in problem and str(tmp_path / "id_ed25519") in problem


def _blob(kind, payload=b""):
    body = len(kind).to_bytes(4, "big") + kind.encode() + payload
    return base64.b64encode(body).decode()


@pytest.mark.parametrize("content,fragment", [
    ("this is not a public key\n", "is not an OpenSSH public key"),
    ("", "holds 0 key lines"),
    ("ssh-ed25519 AAAA a\nssh-ed25519 AAAA b\n", "holds 2 key lines"),
    ('from="10.0.0.1" ssh-ed25519 ' + _blob("ssh-ed25519", b"\0\0\0\x20" + b"k" * 32) + " x\n", "without options"),
    ("ssh-ed25519 !!!notbase64 x\n", "base64 is damaged"),
    ("ssh-ed25519 " + _blob("ssh-rsa", b"\0\0\0\x01\x03") + " x\n", "does not match its type ssh-ed25519"),
    ("---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----\n", "ssh-keygen -i -f"),
    ("-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n", "ssh-keygen -i -f"),
])
def test_not_a_public_key(tmp_path, content, fragment):
    path = tmp_path / "key.pub"
    path.write_text(content)
    assert fragment in (aws_guard.public_key_problem(str(path)) or ""), aws_guard.public_key_problem(str(path))


def test_key_types_ec2_does_not_import(keys):
    assert "EC2 imports RSA and ED25519 keys only" in aws_guard.public_key_problem(str(keys / "id_ecdsa.pub"))


def test_key_path_must_be_absolute_and_exist(tmp_path):
    assert "not an absolute path" in aws_guard.public_key_problem("id.pub")
    assert "does not exist" in aws_guard.public_key_problem(str(tmp_path / "missing.pub"))
    assert aws_guard.public_key_problem("") is None


# --- EC2 tags read back -----------------------------------------------------------------------------------

GOOD_TAGS = {"mocha-cloud:project": "mocha-cloud", "mocha-cloud:run-id": "exp1", "mocha-cloud:ansible-user": "ubuntu",
             "mocha-cloud:expires-at": "2026-11-30T12:00:00Z", "mocha-cloud:bastion": "ubuntu@bastion.example.org:2222"}


def test_good_tags_give_connection_values():
    out = aws_guard.ec2_tag_vars(dict(GOOD_TAGS, **{"mocha-cloud:ssh-key-file": "/etc/shadow"}), "i-1")
    assert out == {"refused": [], "user": "ubuntu", "run_id": "exp1", "expires_at": "2026-11-30T12:00:00Z",
                   "bastion": "ubuntu@bastion.example.org:2222",
                   "ssh_common_args": "-o ProxyJump=ubuntu@bastion.example.org:2222", "results": {}, "market": ""}
    assert "/etc/shadow" not in str(out)  # no path is ever taken from a tag


@pytest.mark.parametrize("value, market", [("on-demand", "on-demand"), ("spot", "spot"), ("reserved", ""),
                                           ("spot; rm -rf /", ""), ("", "")])
def test_the_market_tag_is_taken_only_as_a_market_and_never_refuses_the_host(value, market):
    out = aws_guard.ec2_tag_vars(dict(GOOD_TAGS, **{"mocha-cloud:market": value}), "i-1")
    assert out["market"] == market and out["refused"] == [] and out["run_id"] == "exp1"


@pytest.mark.parametrize("key,value", [
    ("bastion", "x -o PermitLocalCommand=yes -o LocalCommand=id"), ("bastion", "h\n-o LocalCommand=id"),
    ("run-id", "exp1\n"), ("run-id", "../x"), ("ansible-user", "root -oProxyCommand=id"),
    ("expires-at", "2140-01-01"),
])
def test_bad_tags_refuse_the_host_and_give_nothing(key, value):
    out = aws_guard.ec2_tag_vars(dict(GOOD_TAGS, **{"mocha-cloud:" + key: value}), "i-2")
    assert len(out["refused"]) == 1 and out["refused"][0].startswith("EC2 instance i-2 left out of gpu_hosts")
    assert f"mocha-cloud:{key} {value!r}" in out["refused"][0]
    assert all(out[k] == "" for k in ("user", "run_id", "expires_at", "bastion", "ssh_common_args"))


def test_missing_run_id_refuses_the_host():
    assert aws_guard.ec2_tag_vars({"mocha-cloud:project": "mocha-cloud"})["refused"]


@pytest.mark.parametrize("planned, life, refused", [(19.93, 22, False), (22, 22, False), (19.93, 4, True), ("inf", 8, True)])
def test_planned_hours_must_fit_the_instance_life(planned, life, refused):
    problems = aws_guard.limit_problems({"max_hours": life, "planned_hours": planned})
    assert bool(problems) is refused, problems
    if refused and planned != "inf":
        assert "raise aws_gpu_instance_max_hours to at least 20" in problems[0]


def test_no_plan_means_no_plan_check():
    assert aws_guard.limit_problems({"max_hours": 1, "planned_hours": 0}) == []


# The one name rule (names.NAME_RE, imported here): what teardown and the cifar10 role check before a name selects
# AWS resources or becomes a path.
@pytest.mark.parametrize("value", ["mocha*", "r1*", "r1?", "exp1\n", "../outside", "..", "a/b", "", " r1", "r1 ", "r٣", None, 7,
                                   "x" * 64])
def test_name_problems_refuse_what_is_not_a_name(value):
    (problem,) = aws_guard.name_problems({"aws_gpu_instance_teardown_run_id": value})
    assert problem.startswith("aws_gpu_instance_teardown_run_id must be 1-63 letters") and repr(value) in problem


def test_name_problems_accept_names_and_optional_empties():
    assert aws_guard.name_problems({"p": "mocha-cloud", "r": "lr-scan--high", "t": "20261201T080000Z", "d": "a.b_c"}) == []
    assert aws_guard.name_problems({"p": "mocha-cloud", "r": ""}, optional=["r"]) == []
    assert aws_guard.name_problems({"p": "", "r": ""}, optional=["r"]) == ["p must be 1-63 letters, digits, '.', '_' or '-' "
                                                                        "starting with a letter or digit, got ''"]
    assert aws_guard.NAME_RE is aws_results.NAME_RE is names.NAME_RE  # one rule, not a copy
    assert aws_guard.name_problem is aws_results.name_problem is names.name_problem
    with pytest.raises(aws_guard.GuardError, match="needs a dict"):
        aws_guard.name_problems(["p"])


# --- region and instance type: the form the role (and site.yml's settings play, through it) accepts ----------------


@pytest.mark.parametrize(("settings", "problem"), [
    ({"region": "us-east-1", "type": "g4dn.xlarge"}, None),
    ({"region": "us-east", "type": "g4dn.xlarge"}, "aws_gpu_instance_region must look like us-east-1, got 'us-east'"),
    ({"region": "us-east-1", "type": "g4dn"},
     "aws_gpu_instance_type: 'g4dn' is not an EC2 instance type (expected FAMILY.SIZE, e.g. g4dn.xlarge)"),
    ({"region": "us-east-1", "type": 5}, "aws_gpu_instance_type: '5' is not an EC2 instance type"),
])
def test_region_and_type_forms(settings, problem):
    problems = aws_guard.limit_problems(settings)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith(problem)
