# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Guards of an AWS run: the settings that bound its cost or exposure, and the EC2 tags read back.

Pure functions (values in, problems or safe values out), shared by the filters
``mocha.cloud.aws_gpu_limits``, ``mocha.cloud.ssh_cidr`` and ``mocha.cloud.ec2_tag_vars``, so the role
aws_gpu_instance (whichever playbook runs it), the settings play and the EC2 inventory refuse the same things.

- Cost: hours before the instance powers itself off, instance count and root volume size each have a
  ceiling (``LIMITS``); a value that is not a finite number is refused, never rounded into range.
- Exposure: the SSH source is parsed as a network (``ipaddress``, IPv4 and IPv6 alike, whatever its
  spelling): the whole Internet, or a prefix broader than /8 (IPv4) or /32 (IPv6), is refused unless
  explicitly allowed. A public key file must hold one OpenSSH public key of a type EC2 imports.
- Tags: anyone who may tag an instance in the account can write them, so the inventory takes from a tag
  only values of a strict form (a bastion as ``[user@]host[:port]``, a user name, a run id) and refuses
  the host otherwise.
"""

import base64
import binascii
import ipaddress
import math
import os
import re

# The ceilings of the settings that bound what a run can cost (LIMITS, documented in docs/aws.md), the one name rule of
# a project and a run id (NAME_RE, name_problem: what the role accepts, and what the inventory accepts back from a
# tag), the tags' prefix and the expiry time's form: shared with aws_results, autodown and sweep.
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu, aws_results
from ansible_collections.mocha.cloud.plugins.module_utils.names import EXPIRES_RE, LIMITS, NAME_RE, TAG_PREFIX, name_problem

MIN_VOLUME_GB = 8
# The broadest SSH source accepted without aws_gpu_instance_allow_world_ssh, by IP version.
WIDEST_PREFIX = {4: 8, 6: 32}

# A login name (POSIX portable, as useradd accepts by default).
USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# [user@]host[:port], host a DNS name, an IPv4 address or a bracketed IPv6 address.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
BASTION_RE = re.compile(
    r"(?:(?P<user>[a-z_][a-z0-9_-]{0,31})@)?"
    r"(?P<host>" + _LABEL + r"(?:\." + _LABEL + r")*|\[(?P<ipv6>[0-9A-Fa-f:.]{2,45})\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
# Key types EC2 ImportKeyPair accepts (RSA and ED25519 only).
EC2_KEY_TYPES = ("ssh-ed25519", "ssh-rsa")
OTHER_KEY_TYPES = ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-dss",
                   "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
MAX_PUBLIC_KEY_BYTES = 16384


class GuardError(ValueError):
    """A value that is refused; the message says what was wrong and how to fix it."""


def fullmatch(pattern, value):
    """True when ``value`` is a str matched by ``pattern`` as a whole (no trailing newline slips through)."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


# ---------------------------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------------------------
def _number(value, name, integer=False):
    """A finite number from a setting (int, float or their text), or GuardError."""
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or value is None:
        raise GuardError(f"{name} must be {kind}, got {value!r}")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise GuardError(f"{name} must be {kind}, got {value!r}") from None
    if not math.isfinite(number):
        raise GuardError(f"{name} must be a finite number, got {value!r}")
    if integer and number != int(number):
        raise GuardError(f"{name} must be {kind}, got {value!r}")
    return int(number) if integer else number


def _bounded(value, name, inside, message, integer=False):
    """None when the setting is a finite number (whole with ``integer``) for which ``inside`` holds, else its problem."""
    try:
        number = _number(value, name, integer=integer)
    except GuardError as exc:
        return str(exc)
    return None if inside(number) else message


def max_hours_problem(value):
    return _bounded(value, "aws_gpu_instance_max_hours", lambda hours: 0 < hours <= LIMITS["max_hours"],
                    f"aws_gpu_instance_max_hours must be more than 0 and at most {LIMITS['max_hours']:g} (one week), got {value}: "
                    "the instance powers itself off after this many hours")


def count_problem(value):
    return _bounded(value, "aws_gpu_instance_count", lambda count: 1 <= count <= LIMITS["count"],
                    f"aws_gpu_instance_count must be 1 to {LIMITS['count']}, got {value}", integer=True)


def volume_problem(value):
    return _bounded(value, "aws_gpu_instance_volume_size_gb", lambda size: MIN_VOLUME_GB <= size <= LIMITS["volume_size_gb"],
                    f"aws_gpu_instance_volume_size_gb must be {MIN_VOLUME_GB} to {LIMITS['volume_size_gb']} (GiB), got {value}",
                    integer=True)


# ---------------------------------------------------------------------------------------------
# Exposure: the SSH source
# ---------------------------------------------------------------------------------------------
def parse_ssh_source(value):
    """The network of an SSH source: a CIDR, or one address (as /32 or /128). GuardError when it is neither.

    Any spelling ``ipaddress`` reads is read as the network it means (``::/00`` is ``::/0``), so checks
    are made on the network, never on the text.
    """
    name = "aws_gpu_instance_ssh_cidr"
    if not isinstance(value, str) or not value.strip() or value != value.strip() or any(c.isspace() for c in value):
        raise GuardError(f"{name} {value!r} is not a CIDR: give your public address as A.B.C.D/32, or leave it empty to detect it")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise GuardError(
                f"{name} {value!r} is not a CIDR ({exc}): give your public address as A.B.C.D/32 (or an IPv6 /128), "
                "or leave it empty to detect it"
            ) from None
        address = value.split("/", 1)[0]
        single = 32 if loose.version == 4 else 128
        raise GuardError(
            f"{name} {value!r} has host bits set: give the network {loose} or the single address {address}/{single}"
        ) from None
    if network.version == 6 and network.network_address.ipv4_mapped is not None:
        raise GuardError(f"{name} {value!r} is an IPv4-mapped IPv6 range: give the IPv4 form instead (e.g. A.B.C.D/32)")
    return network


def ssh_source_problem(value, allow_world=False):
    """Why an SSH source is refused (None when it is accepted)."""
    try:
        network = parse_ssh_source(value)
    except GuardError as exc:
        return str(exc)
    if network.prefixlen == 0:
        if allow_world:
            return None
        return (f"Refusing to open SSH to {network} (the whole Internet). Give your own address as a /32 in "
                "aws_gpu_instance_ssh_cidr (or leave it empty to detect it), or set aws_gpu_instance_allow_world_ssh: true "
                "if you really mean it")
    if network.is_multicast or network.is_unspecified:
        return f"aws_gpu_instance_ssh_cidr {value!r} is not a source address range SSH can come from ({network})"
    widest = WIDEST_PREFIX[network.version]
    if network.prefixlen < widest and not allow_world:
        share = f"{100.0 * network.num_addresses / (2 ** network.max_prefixlen):.3g}"
        size = f"{network.num_addresses:,}" if network.version == 4 else f"2^{network.max_prefixlen - network.prefixlen}"
        return (f"Refusing to open SSH to {network}: {size} addresses ({share}% of the IPv{network.version} "
                f"Internet), broader than /{widest}. Give your own address as a /32 (IPv6: a /128 or your /64), "
                "or set aws_gpu_instance_allow_world_ssh: true if you really mean it")
    return None


def canonical_ssh_source(value):
    """The canonical CIDR text of an SSH source (``203.0.113.7`` -> ``203.0.113.7/32``, ``::/00`` -> ``::/0``)."""
    return str(parse_ssh_source(value))


# ---------------------------------------------------------------------------------------------
# Exposure: bastion, public key, tags
# ---------------------------------------------------------------------------------------------
def parse_bastion(value):
    """``[user@]host[:port]`` as a dict (user, host, port), or GuardError. Nothing else reaches ssh."""
    if not isinstance(value, str) or len(value) > 255 or not BASTION_RE.fullmatch(value):
        raise GuardError(
            f"bastion {value!r} is not [user@]host[:port] (a user name, a DNS name or address, a port number): "
            "give the jump host only, such as ubuntu@bastion.example.org:22"
        )
    match = BASTION_RE.fullmatch(value)
    if match.group("ipv6"):
        try:
            ipaddress.IPv6Address(match.group("ipv6"))
        except ValueError:
            raise GuardError(f"bastion {value!r}: [{match.group('ipv6')}] is not an IPv6 address") from None
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        raise GuardError(f"bastion {value!r}: port {port} is not 1-65535")
    return {"user": match.group("user"), "host": match.group("host"), "port": int(port) if port else None}


def bastion_problem(value):
    if value in (None, ""):
        return None
    try:
        parse_bastion(value)
    except GuardError as exc:
        return "aws_gpu_instance_" + str(exc)
    return None


def public_key_problem(path):
    """Why a file cannot be imported as the EC2 key pair's public key (None when it can).

    The file must hold exactly one OpenSSH public key line (``ssh-ed25519 AAAA... comment``) of a type EC2
    imports, whose base64 blob names the same type. A private key is refused before its contents go anywhere.
    """
    name = "aws_gpu_instance_public_key_file"
    if not isinstance(path, str) or not path:
        return None
    full = os.path.expanduser(path)
    if not os.path.isabs(full):
        return f"{name} {path} is not an absolute path: give the full path of your public key, e.g. ~/.ssh/id_ed25519.pub"
    if not os.path.isfile(full):
        return (f"{name} {path} does not exist: give the path of your public key (e.g. ~/.ssh/id_ed25519.pub) "
                "or leave it empty to let EC2 create a key pair")
    try:
        with open(full, "rb") as handle:
            data = handle.read(MAX_PUBLIC_KEY_BYTES + 1)
    except OSError as exc:
        return f"{name} {path} cannot be read ({exc.strerror})"
    if b"PRIVATE KEY" in data:
        public = full[:-4] if full.endswith(".pub") else full + ".pub"
        return (f"{name} {path} holds a PRIVATE KEY, which must never leave this machine: give its public half, "
                f"{public} (make it with: ssh-keygen -y -f {full} > {public}). Nothing of it was sent or shown")
    if len(data) > MAX_PUBLIC_KEY_BYTES:
        return f"{name} {path} is larger than {MAX_PUBLIC_KEY_BYTES} bytes: not a public key"
    text = data.decode("utf-8", "replace")
    if text.lstrip().startswith("---- BEGIN SSH2 PUBLIC KEY") or "BEGIN PUBLIC KEY" in text:
        return (f"{name} {path} is not in OpenSSH format: convert it with ssh-keygen -i -f {full} "
                "(one line 'ssh-ed25519 AAAA... comment')")
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1:
        return f"{name} {path} holds {len(lines)} key lines: give a file with exactly one OpenSSH public key"
    fields = lines[0].split()
    kind = fields[0]
    if kind in OTHER_KEY_TYPES:
        return (f"{name} {path} is an {kind} key; EC2 imports RSA and ED25519 keys only: make one with "
                "ssh-keygen -t ed25519")
    if kind not in EC2_KEY_TYPES or len(fields) < 2:
        return (f"{name} {path} is not an OpenSSH public key (expected one line 'ssh-ed25519 AAAA... comment' "
                "or 'ssh-rsa AAAA... comment', without options in front)")
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        return f"{name} {path}: the key's base64 is damaged; copy the .pub file again"
    size = int.from_bytes(blob[:4], "big") if len(blob) >= 4 else -1
    if blob[4:4 + size] != kind.encode() or size != len(kind):
        return f"{name} {path}: the key's data does not match its type {kind}; copy the .pub file again"
    return None


def extra_tags_problem(tags):
    if tags in (None, ""):
        return None
    if not isinstance(tags, dict):
        return f"aws_gpu_instance_extra_tags must be a mapping of tag names to values, got {tags!r}"
    reserved = sorted(str(k) for k in tags if str(k).startswith(TAG_PREFIX) or str(k).lower().startswith("aws:"))
    if reserved:
        return (f"aws_gpu_instance_extra_tags may not set {', '.join(reserved)}: tags starting with {TAG_PREFIX} are "
                "set by the role itself (aws: by AWS)")
    return None


def name_problems(names, optional=()):
    """One problem per setting of NAMES ({setting: value}) whose value is not a project or run id under the one name
    rule ([] when all are); a setting listed in OPTIONAL may also be empty (unset). Used before a name goes into an AWS
    filter (where '*' and '?' are wildcards) or a path on the controller."""
    if not isinstance(names, dict):
        raise GuardError(f"name_problems needs a dict of settings and values, got {type(names).__name__}")
    return [problem for setting, value in names.items()
            if not (setting in optional and value in ("", None))
            for problem in [name_problem(value, setting)] if problem]


def users_problem(users):
    """The SSH users the role may tag an instance with: each must be a plain login name (the inventory checks it)."""
    users = [users] if isinstance(users, str) else list(users or [])
    bad = [u for u in users if u not in ("", None) and not fullmatch(USER_RE, u)]
    if bad:
        return (f"SSH user names must be lower-case login names (letters, digits, '_', '-'; at most 32), got "
                f"{', '.join(repr(u) for u in bad)} (aws_gpu_instance_ansible_user, _default_user or _ami_user_rules)")
    return None


# ---------------------------------------------------------------------------------------------
# All of them
# ---------------------------------------------------------------------------------------------
def planned_hours_problem(planned, max_hours):
    """The journey's planned hours (its run plan, margin included) must fit in the instance's life."""
    try:
        need = _number(planned, "aws_gpu_instance_planned_hours")
        life = _number(max_hours, "aws_gpu_instance_max_hours")
    except GuardError as exc:
        return str(exc)
    if need > life:
        return (f"the run is planned to take {need:g} h (aws_gpu_instance_planned_hours, from the run plan) but the "
                f"instance powers itself off after {life:g} h: raise aws_gpu_instance_max_hours to at least "
                f"{math.ceil(need):d}, or plan a shorter run")
    return None


def instance_type_problem(instance_type):
    """Why INSTANCE_TYPE is not of an EC2 instance type's form (FAMILY.SIZE), None when it is."""
    try:
        aws_gpu.family_of(str(instance_type))
    except aws_gpu.AwsGpuError as exc:
        return f"aws_gpu_instance_type: {exc}"
    return None


def limit_problems(settings):
    """Every problem with the settings given (a dict with any of the keys below); [] when all are fine.

    Keys: region, type (the form of an AWS region and of an instance type),
    max_hours, count, volume_size_gb, ssh_cidr ('' = detected later), allow_world_ssh, bastion,
    public_key_file, extra_tags, run_id, project, key_name ('' = derived), users (list of SSH user names),
    planned_hours (the run plan's hours, 0 or absent = not planned; checked against max_hours),
    results_bucket ('' = derived), permissions_boundary ('' = none).
    A key that is absent is not checked.
    """
    if not isinstance(settings, dict):
        raise GuardError(f"limit_problems needs a dict of settings, got {type(settings).__name__}")
    problems = []
    checks = (
        ("region", aws_results.region_problem),
        ("type", instance_type_problem),
        ("max_hours", max_hours_problem),
        ("count", count_problem),
        ("volume_size_gb", volume_problem),
        ("bastion", bastion_problem),
        ("public_key_file", public_key_problem),
        ("extra_tags", extra_tags_problem),
        ("run_id", lambda v: name_problem(v, "aws_gpu_instance_run_id")),
        ("project", lambda v: name_problem(v, "aws_gpu_instance_project")),
        ("key_name", lambda v: name_problem(v, "aws_gpu_instance_key_name") if v else None),
        ("users", users_problem),
        ("results_bucket", lambda v: aws_results.bucket_name_problem(v) if v else None),
        ("permissions_boundary", aws_results.boundary_problem),
    )
    for key, check in checks:
        if key in settings:
            problem = check(settings[key])
            if problem:
                problems.append(problem)
    if settings.get("planned_hours") not in (None, "", 0, "0") and "max_hours" in settings and not max_hours_problem(settings["max_hours"]):
        problem = planned_hours_problem(settings["planned_hours"], settings["max_hours"])
        if problem:
            problems.append(problem)
    if settings.get("ssh_cidr") not in (None, ""):
        allow = settings.get("allow_world_ssh", False)
        allow = allow is True or str(allow).strip().lower() in ("true", "yes", "1", "on")
        problem = ssh_source_problem(settings["ssh_cidr"], allow_world=allow)
        if problem:
            problems.append(problem)
    return problems


# ---------------------------------------------------------------------------------------------
# EC2 tags read back by the inventory
# ---------------------------------------------------------------------------------------------
def ec2_tag_vars(tags, instance_id="", region=""):
    """The connection values the inventory may take from an instance's tags, each checked.

    Returns {'refused': [problems], 'user', 'run_id', 'expires_at', 'bastion', 'ssh_common_args', 'results', 'market'}; every
    value is '' ({} for results) when its tag is absent or the host is refused. A host with any problem gets no value
    from its tags. results is {bucket, prefix, region} from the tags mocha-cloud:results-bucket and
    mocha-cloud:results-prefix (the prefix exactly <project>/<run id>/ of the instance's own tags) and REGION.
    """
    tags = tags if isinstance(tags, dict) else {}
    out = {"refused": [], "user": "", "run_id": "", "expires_at": "", "bastion": "", "ssh_common_args": "", "results": {},
           "market": ""}
    where = f"EC2 instance {instance_id}" if instance_id else "EC2 instance"

    def tag(key):
        value = tags.get(TAG_PREFIX + key)
        return value if isinstance(value, str) else ("" if value is None else repr(value))

    run_id, user, bastion, expires = tag("run-id"), tag("ansible-user"), tag("bastion"), tag("expires-at")
    if not fullmatch(NAME_RE, run_id):
        out["refused"].append(f"its tag {TAG_PREFIX}run-id {run_id!r} is not a run id")
    if user and not fullmatch(USER_RE, user):
        out["refused"].append(f"its tag {TAG_PREFIX}ansible-user {user!r} is not a user name")
    if expires and not fullmatch(EXPIRES_RE, expires):
        out["refused"].append(f"its tag {TAG_PREFIX}expires-at {expires!r} is not YYYY-MM-DDTHH:MM:SSZ")
    if bastion:
        try:
            parse_bastion(bastion)
        except GuardError:
            out["refused"].append(f"its tag {TAG_PREFIX}bastion {bastion!r} is not [user@]host[:port]")
    results, problems = aws_results.results_from_tags(tags, region)
    out["refused"].extend(problems)
    if out["refused"]:
        out["refused"] = [f"{where} left out of gpu_hosts: {p}" for p in out["refused"]]
        return out
    # The market the launch got (on demand when spot fell back to it): only on-demand or spot, else none. It prices the
    # run's cost figures only, so another value leaves the host in.
    market = tag("market")
    out.update(user=user, run_id=run_id, expires_at=expires, bastion=bastion,
               ssh_common_args=f"-o ProxyJump={bastion}" if bastion else "", results=results,
               market=market if market in ("on-demand", "spot") else "")
    return out
