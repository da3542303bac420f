# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a run's state lives off the instance on AWS, and what is left of each run.

Pure part (values in, values out; unit-tested directly):

- names: the results bucket of a project in a region (``<project>-results-<account id>-<region>``, or one given),
  the run's prefix ``<project>/<run id>/``, the IAM role and instance profile ``<project>-<run id>`` under the path
  ``/mocha-cloud/<project>/``;
- policy documents: the role's trust (ec2.amazonaws.com only), its one inline policy (objects under the run's prefix,
  listing limited to it) and the bucket policy (no request without TLS);
- the results location read back from an instance's tags, only in its strict form;
- run discovery: the state marker ``<prefix>state.json``, an instance's state reason and times, and each run's
  verdict (finished, failed, running, stopped, interrupted, vanished).

Thin boto3 part: functions that take ready-made clients (AnsibleAWSModule.client with a retry decorator), so tests
can hand them a client wrapped in botocore's Stubber or pointed at moto.
"""

import datetime
import hashlib
import json
import re

from ansible_collections.mocha.cloud.plugins.module_utils import snapshot_state
from ansible_collections.mocha.cloud.plugins.module_utils.names import EXPIRES_RE, NAME_RE, TAG_PREFIX, name_problem

try:
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - the modules report missing boto3 themselves
    ClientError = Exception

ACCOUNT_RE = re.compile(r"[0-9]{12}")
REGION_RE = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}")
PARTITION_RE = re.compile(r"aws(?:-[a-z]+){0,3}")
# A general purpose bucket name as this project makes and accepts them: S3's rules (3-63 characters, lower-case
# letters, digits, hyphens; a letter or digit at each end), and no dots (a dotted name breaks TLS for
# virtual-hosted requests: the wildcard certificate *.s3.<region>.amazonaws.com covers one label only).
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
BOUNDARY_RE = re.compile(r"arn:aws(?:-[a-z]+){0,3}:iam::(?:[0-9]{12}|aws):policy/[\w+=,.@/-]{1,512}")

IAM_PATH_ROOT = "/mocha-cloud/"
ROLE_NAME_MAX = 64
POLICY_NAME = "mocha-cloud-results"
MARKER_NAME = "state.json"
LEGS_NAME = "state/legs.json"
MARKER_MAX_BYTES = snapshot_state.MARKER_MAX_BYTES
MARKER_STATES = ("running", "interrupted", "finished", "failed")
# The host a marker names (an inventory hostname, used as one directory name on the controller) and its snapshot.
MARKER_HOST_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# The snapshot a marker names: a name of the one rule (snapshot_state.SNAPSHOT_NAME) with as many digits as Mocha
# writes (snapshot-%06d.jld: 6 or more), and at most 12.
MARKER_SNAPSHOT_DIGITS = (6, 12)
LIVE_STATES = ("pending", "running")
STOPPED_STATES = ("stopping", "stopped")
SPOT_INTERRUPTION = "Server.SpotInstanceTermination"
VERDICTS = ("finished", "failed", "running", "stopped", "interrupted", "vanished")


class ResultsError(ValueError):
    """A value that is refused; the message says what was wrong and how to fix it."""


def _fullmatch(pattern, value):
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _short_hash(text, n=8):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------
def bucket_name_problem(name, setting="aws_gpu_instance_results_bucket"):
    """Why NAME is not a results bucket name this project makes or accepts (None when it is)."""
    if not isinstance(name, str) or not name:
        return f"{setting} must be a bucket name, got {name!r}"
    if "." in name:
        return (f"{setting} {name!r} contains a dot: dotted bucket names break TLS for virtual-hosted S3 requests; "
                "use hyphens instead")
    if not _fullmatch(BUCKET_RE, name):
        return (f"{setting} {name!r} is not an S3 bucket name: 3-63 lower-case letters, digits and hyphens, "
                "starting and ending with a letter or digit")
    bad = [p for p in BUCKET_RESERVED_PREFIXES if name.startswith(p)] + [s for s in BUCKET_RESERVED_SUFFIXES if name.endswith(s)]
    if bad:
        return f"{setting} {name!r} starts or ends with {bad[0]!r}, which S3 reserves"
    return None


def region_problem(region, setting="aws_gpu_instance_region"):
    """Why REGION is not an AWS region name (None when it is): the one rule of a region's form."""
    if not _fullmatch(REGION_RE, region):
        return f"{setting} must look like us-east-1, got {region!r}"
    return None


def default_bucket_name(project, account_id, region):
    """``<project>-results-<account id>-<region>``: unique across S3 since the account and region are in it.

    The project part is lower-cased, with every character S3 refuses turned into '-'; when the name would be longer
    than 63 characters it is shortened and ends in 8 hex digits of the project's hash, so two long project names
    still get two buckets.
    """
    _check_name(project, "aws_gpu_instance_project")
    if not _fullmatch(ACCOUNT_RE, account_id):
        raise ResultsError(f"the account id must be 12 digits (from STS GetCallerIdentity), got {account_id!r}")
    if region_problem(region):
        raise ResultsError(region_problem(region))
    stem = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", project.lower())).strip("-") or "mocha-cloud"
    suffix = f"-results-{account_id}-{region}"
    room = 63 - len(suffix)
    if len(stem) > room:
        stem = stem[:room - 9].rstrip("-") + "-" + _short_hash(project)
    for reserved in BUCKET_RESERVED_PREFIXES:
        if stem.startswith(reserved):
            stem = "mc-" + stem
    name = (stem + suffix)[:63]
    problem = bucket_name_problem(name)
    if problem:  # pragma: no cover - the construction above cannot produce one; kept as a guard
        raise ResultsError(problem)
    return name


def _check_name(value, setting):
    problem = name_problem(value, setting)
    if problem:
        raise ResultsError(problem)


def run_prefix(project, run_id):
    """The run's key prefix in the bucket: ``<project>/<run id>/``."""
    _check_name(project, "aws_gpu_instance_project")
    _check_name(run_id, "aws_gpu_instance_run_id")
    return f"{project}/{run_id}/"


def iam_path(project):
    """The IAM path of every role and instance profile of the project: ``/mocha-cloud/<project>/``."""
    _check_name(project, "aws_gpu_instance_project")
    return f"{IAM_PATH_ROOT}{project}/"


def role_name(project, run_id):
    """``<project>-<run id>``; when longer than IAM's 64 characters, shortened to end in 8 hex digits of its hash."""
    _check_name(project, "aws_gpu_instance_project")
    _check_name(run_id, "aws_gpu_instance_run_id")
    name = f"{project}-{run_id}"
    if len(name) > ROLE_NAME_MAX:
        name = name[:ROLE_NAME_MAX - 9] + "-" + _short_hash(f"{project}/{run_id}")
    return name


def boundary_problem(arn):
    if arn in (None, ""):
        return None
    if not _fullmatch(BOUNDARY_RE, arn):
        return (f"aws_gpu_instance_permissions_boundary must be the ARN of an IAM managed policy "
                f"(arn:aws:iam::123456789012:policy/name), got {arn!r}")
    return None


# ---------------------------------------------------------------------------------------------
# Policy documents
# ---------------------------------------------------------------------------------------------
def trust_policy():
    """Who may assume the run's role: EC2 instances only."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }],
    }


def role_policy(bucket, project, run_id, account_id, partition="aws"):
    """The run role's one inline policy: objects under ``<project>/<run id>/`` and listing limited to that prefix, in a
    bucket of ACCOUNT_ID only (s3:ResourceAccount: a bucket of the same name in another account is out of reach)."""
    problem = bucket_name_problem(bucket, "bucket")
    if problem:
        raise ResultsError(problem)
    if not _fullmatch(PARTITION_RE, partition):
        raise ResultsError(f"partition must look like aws or aws-cn, got {partition!r}")
    if not _fullmatch(ACCOUNT_RE, account_id):
        raise ResultsError(f"the account id must be 12 digits (from STS GetCallerIdentity), got {account_id!r}")
    prefix = run_prefix(project, run_id)
    own_account = {"s3:ResourceAccount": account_id}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RunObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*",
                "Condition": {"StringEquals": own_account},
            },
            {
                "Sid": "ListRunPrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:{partition}:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": [prefix, prefix + "*"]}, "StringEquals": own_account},
            },
        ],
    }


def bucket_policy(bucket, partition="aws"):
    """The bucket's policy: every request without TLS is denied, whoever makes it."""
    problem = bucket_name_problem(bucket, "bucket")
    if problem:
        raise ResultsError(problem)
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyWithoutTLS",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }


def results_plan(spec):
    """Everything the role needs to make a run's results location, from a dict of settings.

    Keys: project, run_id ('' = the project's part only), account_id, region, partition ('aws' when absent),
    bucket ('' = the default name). Returns bucket, bucket_policy, region, iam_path and, for a run, prefix, uri,
    role_name, profile_name, role_arn, profile_arn, policy_name, trust_policy and role_policy ('' or {} without a run
    id). ResultsError names what is wrong.
    """
    if not isinstance(spec, dict):
        raise ResultsError(f"needs a dict of settings, got {type(spec).__name__}")
    project, run_id = spec.get("project"), spec.get("run_id") or ""
    account, region = str(spec.get("account_id") or ""), spec.get("region")
    partition = spec.get("partition") or "aws"
    if not _fullmatch(PARTITION_RE, partition):
        raise ResultsError(f"partition must look like aws or aws-cn, got {partition!r}")
    bucket = spec.get("bucket") or default_bucket_name(project, account, region)
    problem = bucket_name_problem(bucket)
    if problem:
        raise ResultsError(problem)
    if region_problem(region):
        raise ResultsError(region_problem(region))
    if not _fullmatch(ACCOUNT_RE, account):
        raise ResultsError(f"the account id must be 12 digits (from STS GetCallerIdentity), got {account!r}")
    path = iam_path(project)
    plan = {"bucket": bucket, "bucket_policy": bucket_policy(bucket, partition), "region": region, "iam_path": path,
            "prefix": "", "uri": "", "role_name": "", "profile_name": "", "role_arn": "", "profile_arn": "",
            "policy_name": POLICY_NAME, "trust_policy": {}, "role_policy": {}}
    if not run_id:
        return plan
    prefix = run_prefix(project, run_id)
    name = role_name(project, run_id)
    plan.update({
        "prefix": prefix,
        "uri": f"s3://{bucket}/{prefix}",
        "role_name": name,
        "profile_name": name,
        "role_arn": f"arn:{partition}:iam::{account}:role{path}{name}",
        "profile_arn": f"arn:{partition}:iam::{account}:instance-profile{path}{name}",
        "trust_policy": trust_policy(),
        "role_policy": role_policy(bucket, project, run_id, account, partition),
    })
    return plan


# ---------------------------------------------------------------------------------------------
# The results location read back from an instance's tags
# ---------------------------------------------------------------------------------------------
def results_from_tags(tags, region=""):
    """(results, problems) from an instance's tags.

    ``results`` is {} when neither results tag is there, else {bucket, prefix, region} when both pass: the bucket a
    name of the form above, the prefix exactly ``<mocha-cloud:project>/<mocha-cloud:run-id>/`` of the same instance,
    and the region one AWS names. ``problems`` lists what is wrong otherwise (results is then {}).
    """
    tags = tags if isinstance(tags, dict) else {}

    def tag(key):
        value = tags.get(TAG_PREFIX + key)
        return value if isinstance(value, str) else ("" if value is None else repr(value))

    bucket, prefix = tag("results-bucket"), tag("results-prefix")
    if not bucket and not prefix:
        return {}, []
    problems = []
    if bucket_name_problem(bucket, "x"):
        problems.append(f"its tag {TAG_PREFIX}results-bucket {bucket!r} is not a bucket name")
    project, run_id = tag("project"), tag("run-id")
    expected = f"{project}/{run_id}/" if _fullmatch(NAME_RE, project) and _fullmatch(NAME_RE, run_id) else None
    if expected is None or prefix != expected:
        problems.append(f"its tag {TAG_PREFIX}results-prefix {prefix!r} is not <project>/<run id>/ of its own tags"
                        + (f" ({expected!r})" if expected else ""))
    if not _fullmatch(REGION_RE, region):
        problems.append(f"its region {region!r} is not an AWS region")
    if problems:
        return {}, problems
    return {"bucket": bucket, "prefix": prefix, "region": region}, []


# ---------------------------------------------------------------------------------------------
# Whose they are: the results location of a run before anything is made
# ---------------------------------------------------------------------------------------------
def _unique(items):
    return list(dict.fromkeys(items))


def location_problems(found, project, run_id):
    """What stops run RUN_ID of PROJECT from using its results location, from aws_gpu_runs_info's answer FOUND for
    that run ([] when nothing does). Only resources tagged for the project are ever changed, so each of these is
    refused before anything is made:

    - a bucket of the name in another account (HeadBucket with ExpectedBucketOwner was refused), or one not tagged
      for the project;
    - a role of the run's name that is not the run's (tags and IAM path), or that serves another bucket (the same run
      id in another region or with another bucket), or that has inline policies other than the run's one;
    - an instance profile of the run's name not tagged for the project on its IAM path.
    """
    if not isinstance(found, dict):
        raise ResultsError(f"needs the answer of aws_gpu_runs_info (a dict), got {type(found).__name__}")
    bucket = found.get("bucket") or {}
    run = next((r for r in found.get("runs") or [] if r.get("run_id") == run_id), {})
    role, profile = run.get("role") or {}, run.get("instance_profile") or {}
    path, name = iam_path(project), bucket.get("name", "")
    problems = []
    if bucket.get("exists") and not bucket.get("accessible"):
        problems.append(f"bucket {name} exists but is not account {bucket.get('owner', '')}'s (HeadBucket with "
                        "ExpectedBucketOwner was refused: bucket names are global, and another account may have made it "
                        "first, whatever its tags say): give another aws_gpu_instance_results_bucket")
    if bucket.get("accessible") and not bucket.get("ours"):
        problems.append(f"bucket {name} exists but is not tagged {TAG_PREFIX}project={project}: give another "
                        "aws_gpu_instance_results_bucket")
    if role.get("exists") and not role.get("ours"):
        problems.append(f"IAM role {role.get('name')} exists but is not the role of run {run_id} of {project} (tags "
                        f"{TAG_PREFIX}project, {TAG_PREFIX}run-id and path {path}): use another run id")
    served = (role.get("tags") or {}).get(TAG_PREFIX + "results-bucket")
    if role.get("ours") and (served or "") != name:
        problems.append(f"IAM role {role.get('name')} serves results bucket {served or '?'}, not {name} (the same run "
                        "id in another region or with another bucket): use another run id")
    extra = _unique(p for p in role.get("inline_policies") or [] if p != POLICY_NAME)
    if extra:
        problems.append(f"IAM role {role.get('name')} has inline policies other than {POLICY_NAME}: {', '.join(extra)}; "
                        "a run role may reach its own prefix only, remove them (or tear the run down) first")
    if profile.get("exists") and not profile.get("ours"):
        problems.append(f"instance profile {profile.get('name')} exists but is not tagged {TAG_PREFIX}project={project} "
                        f"on path {path}: use another run id")
    return problems


# ---------------------------------------------------------------------------------------------
# Run discovery: markers, instances, verdicts
# ---------------------------------------------------------------------------------------------
def parse_marker(data):
    """The state marker a run writes to ``<prefix>state.json``: {state, iteration, updated_at}, or ResultsError.

    Written from the instance (which may put objects under its prefix), so it is read as untrusted input: JSON of at
    most 64 KiB, a known state, a whole iteration count of 0 or more, and updated_at a string of at most 64
    characters. host and snapshot are kept only in their strict forms (a host name usable as one directory name,
    snapshot-NNNNNN.jld), else ''. Other keys are ignored.
    """
    if isinstance(data, (bytes, bytearray)):
        if len(data) > MARKER_MAX_BYTES:
            raise ResultsError(f"state.json is larger than {MARKER_MAX_BYTES} bytes")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ResultsError("state.json is not UTF-8 text") from None
    if not isinstance(data, str):
        raise ResultsError(f"state.json must be text, got {type(data).__name__}")
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ResultsError(f"state.json is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ResultsError("state.json must hold a JSON object")
    state = doc.get("state")
    if state not in MARKER_STATES:
        raise ResultsError(f"state.json: state must be one of {', '.join(MARKER_STATES)}, got {state!r}")
    iteration = doc.get("iteration", 0)
    if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        raise ResultsError(f"state.json: iteration must be a whole number of 0 or more, got {iteration!r}")
    updated = doc.get("updated_at", "")
    if not isinstance(updated, str) or len(updated) > 64:
        raise ResultsError(f"state.json: updated_at must be a short string, got {updated!r}")
    host, snapshot = doc.get("host"), doc.get("snapshot")
    return {"state": state, "iteration": iteration, "updated_at": updated,
            "host": host if _fullmatch(MARKER_HOST_RE, host) and host.strip(".") else "",
            "snapshot": snapshot if _marker_snapshot(snapshot) else ""}


def _marker_snapshot(value):
    """True when VALUE is a snapshot's file name a marker may give (see MARKER_SNAPSHOT_DIGITS)."""
    m = snapshot_state.SNAPSHOT_NAME.match(value) if isinstance(value, str) else None
    return bool(m) and MARKER_SNAPSHOT_DIGITS[0] <= len(m.group("iter")) <= MARKER_SNAPSHOT_DIGITS[1]


_TRANSITION_TIME_RE = re.compile(r"\((\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")


def transition_time(reason):
    """The time in an EC2 StateTransitionReason such as ``User initiated (2026-01-02 03:04:05 GMT)``, as
    ``2026-01-02T03:04:05Z``; '' when the reason carries none."""
    match = _TRANSITION_TIME_RE.search(reason or "")
    return f"{match.group(1)}T{match.group(2)}Z" if match else ""


def _iso(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)  # noqa: UP017 - modules run on older Pythons too
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value or "")


def instance_record(instance):
    """What run discovery keeps of one DescribeInstances entry (boto3 shape)."""
    tags = {t.get("Key"): t.get("Value") for t in instance.get("Tags") or []}
    expires = tags.get(TAG_PREFIX + "expires-at", "")
    state = (instance.get("State") or {}).get("Name", "")
    reason = instance.get("StateReason") or {}
    transition = instance.get("StateTransitionReason") or ""
    return {
        "instance_id": instance.get("InstanceId", ""),
        "instance_type": instance.get("InstanceType", ""),
        "market": "spot" if instance.get("InstanceLifecycle") == "spot" else "on-demand",
        "availability_zone": (instance.get("Placement") or {}).get("AvailabilityZone", ""),
        "state": state,
        "state_reason_code": reason.get("Code", "") or "",
        "state_reason_message": reason.get("Message", "") or "",
        "state_transition_reason": transition,
        "launch_time": _iso(instance.get("LaunchTime")),
        "end_time": transition_time(transition) if state in ("shutting-down", "terminated", "stopping", "stopped") else "",
        "run_id": tags.get(TAG_PREFIX + "run-id", ""),
        "project": tags.get(TAG_PREFIX + "project", ""),
        "expires_at": expires if _fullmatch(EXPIRES_RE, expires) else "",
    }


def run_verdict(instances, marker=None, marker_error=""):
    """(verdict, reason) of one run from its instance records and its state marker (None when absent).

    finished: the marker says so. running: an instance is pending or running. failed: the marker says so.
    stopped: an instance is stopping or stopped (it holds the run's volume; recover does not launch a second one).
    interrupted: the marker says interrupted, or says running while no instance of the run is live (terminated,
    e.g. a spot interruption, or gone from EC2's records). vanished: no live instance and no marker.
    """
    instances = list(instances or [])
    live = [i for i in instances if i.get("state") in LIVE_STATES]
    stopped = [i for i in instances if i.get("state") in STOPPED_STATES]
    ended = [i for i in instances if i.get("state") in ("shutting-down", "terminated")]
    state = (marker or {}).get("state")
    spot = [i for i in ended if i.get("state_reason_code") == SPOT_INTERRUPTION]

    def ended_text():
        if not ended:
            return "no instance of it is on record"
        last = ended[-1]
        code = last.get("state_reason_code") or "no reason given"
        when = f" at {last['end_time']}" if last.get("end_time") else ""
        return f"instance {last.get('instance_id')} ended{when} ({code})"

    if state == "finished":
        return "finished", f"state.json says finished at iteration {marker.get('iteration', 0)}"
    if live:
        return "running", "instance " + ", ".join(i["instance_id"] for i in live) + " is " + live[0]["state"]
    if state == "failed":
        return "failed", f"state.json says failed at iteration {marker.get('iteration', 0)}"
    if stopped:
        return "stopped", "instance " + ", ".join(i["instance_id"] for i in stopped) + " is " + stopped[0]["state"]
    if state == "interrupted":
        return "interrupted", f"state.json says interrupted at iteration {marker.get('iteration', 0)}; " + ended_text()
    if state == "running":
        why = "spot interruption: " if spot else ""
        return "interrupted", f"{why}state.json says running at iteration {marker.get('iteration', 0)} but " + ended_text()
    if marker_error:
        return "vanished", f"no live instance, and state.json is unreadable ({marker_error}); " + ended_text()
    return "vanished", "no live instance and no state.json; " + ended_text()


def summarize_run(run_id, instances, marker=None, marker_error="", **extra):
    """One run as aws_gpu_runs_info returns it."""
    instances = sorted(instances or [], key=lambda i: (i.get("launch_time", ""), i.get("instance_id", "")))
    verdict, reason = run_verdict(instances, marker, marker_error)
    out = {
        "run_id": run_id,
        "verdict": verdict,
        "reason": reason,
        "instances": instances,
        "live_instances": [i["instance_id"] for i in instances if i.get("state") in LIVE_STATES + STOPPED_STATES],
        "interruptions": sum(1 for i in instances if i.get("state_reason_code") == SPOT_INTERRUPTION),
        "marker": marker,
        "marker_error": marker_error,
    }
    out.update(extra)
    return out


# ---------------------------------------------------------------------------------------------
# boto3 layer (clients come from AnsibleAWSModule.client with a retry decorator)
# ---------------------------------------------------------------------------------------------
# Every call passes aws_retry=True, so throttling and transient errors are retried with jittered backoff.
def _code(exc):
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code", "")


def _iam_get(call, key, **kwargs):
    """The KEY of an IAM get_* answer, or None when the entity does not exist (other errors are raised)."""
    try:
        return call(aws_retry=True, **kwargs)[key]
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise


def _pages(call, tokens, **kwargs):
    """Every page of a paginated call; TOKENS maps each request parameter to the response field that carries it."""
    while True:
        page = call(aws_retry=True, **kwargs)
        yield page
        nxt = {req: page.get(resp) for req, resp in tokens.items() if page.get(resp)}
        if not nxt or page.get("IsTruncated") is False:
            return
        kwargs.update(nxt)


def _owner(owner):
    """ExpectedBucketOwner for every S3 call on the results bucket: S3 answers 403 when the bucket is another
    account's (a bucket name is global: anyone may have made it first). {} when no owner is given."""
    return {"ExpectedBucketOwner": owner} if owner else {}


_LIST_TOKENS = {"ContinuationToken": "NextContinuationToken"}
_VERSION_TOKENS = {"KeyMarker": "NextKeyMarker", "VersionIdMarker": "NextVersionIdMarker"}


def describe_project_instances(ec2, project, run_id=None, include_terminated=True):
    """Instance records of the project (optionally one run), live ones and, with include_terminated, ended ones."""
    filters = [{"Name": "tag:mocha-cloud:project", "Values": [project]}]
    if run_id:
        filters.append({"Name": "tag:mocha-cloud:run-id", "Values": [run_id]})
    if not include_terminated:
        filters.append({"Name": "instance-state-name", "Values": list(LIVE_STATES + STOPPED_STATES)})
    out = []
    for page in _pages(ec2.describe_instances, {"NextToken": "NextToken"}, Filters=filters):
        for reservation in page.get("Reservations", []):
            out.extend(instance_record(i) for i in reservation.get("Instances", []))
    return out


def bucket_state(s3, bucket, project, owner=""):
    """{name, owner, exists, accessible, ours, tags, versioning, objects, versions}: what the bucket is to this project.

    owner: the account the bucket must belong to (ExpectedBucketOwner on every call, HeadBucket first: a bucket of
    that name in another account answers 403 and is neither accessible nor ours, whatever its tags say).
    ours: in OWNER's account and tagged mocha-cloud:project=<project> (only such a bucket is ever changed or deleted).
    objects: current objects in it; versions: noncurrent versions and delete markers (0 unless versioning was on).
    """
    out = {"name": bucket, "owner": owner or "", "exists": False, "accessible": False, "ours": False, "tags": {},
           "versioning": "", "objects": 0, "versions": 0}
    try:
        s3.head_bucket(Bucket=bucket, aws_retry=True, **_owner(owner))
    except ClientError as exc:
        code = _code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return out
        if code in ("403", "AccessDenied", "Forbidden"):
            out["exists"] = True  # someone else's, or not ours to read
            return out
        raise
    out["exists"] = out["accessible"] = True
    try:
        tagset = s3.get_bucket_tagging(Bucket=bucket, aws_retry=True, **_owner(owner)).get("TagSet", [])
    except ClientError as exc:
        if _code(exc) not in ("NoSuchTagSet", "NoSuchTagSetError"):
            raise
        tagset = []
    out["tags"] = {t["Key"]: t["Value"] for t in tagset}
    out["ours"] = out["tags"].get(TAG_PREFIX + "project") == project
    if not out["ours"]:
        return out
    out["versioning"] = s3.get_bucket_versioning(Bucket=bucket, aws_retry=True, **_owner(owner)).get("Status", "") or ""
    for page in _pages(s3.list_objects_v2, _LIST_TOKENS, Bucket=bucket, **_owner(owner)):
        out["objects"] += len(page.get("Contents", []))
    if out["versioning"]:
        for page in _pages(s3.list_object_versions, _VERSION_TOKENS, Bucket=bucket, **_owner(owner)):
            out["versions"] += sum(1 for v in page.get("Versions", []) if not v.get("IsLatest"))
            out["versions"] += len(page.get("DeleteMarkers", []))
    return out


def prefix_state(s3, bucket, prefix, owner=""):
    """{objects, bytes} of the current objects under PREFIX."""
    objects = size = 0
    for page in _pages(s3.list_objects_v2, _LIST_TOKENS, Bucket=bucket, Prefix=prefix, **_owner(owner)):
        for item in page.get("Contents", []):
            objects += 1
            size += int(item.get("Size", 0))
    return {"objects": objects, "bytes": size}


def list_run_prefixes(s3, bucket, project, owner=""):
    """Run ids that have a prefix ``<project>/<run id>/`` in the bucket, and the prefixes refused for their form."""
    runs, refused = [], []
    base = f"{project}/"
    for page in _pages(s3.list_objects_v2, _LIST_TOKENS, Bucket=bucket, Prefix=base, Delimiter="/", **_owner(owner)):
        for common in page.get("CommonPrefixes", []):
            run_id = common.get("Prefix", "")[len(base):].rstrip("/")
            (runs if _fullmatch(NAME_RE, run_id) else refused).append(run_id)
    return runs, refused


_CONTENT_RANGE_TOTAL = re.compile(r"bytes [0-9]+-[0-9]+/([0-9]+)")


def read_capped(s3, bucket, key, limit, owner=""):
    """(data, error) of one object written from an instance: at most LIMIT bytes are asked for (Range) and read, and
    one larger than that is refused before its body is read. (None, '') when there is none."""
    try:
        answer = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{limit}", aws_retry=True, **_owner(owner))
    except ClientError as exc:
        if _code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None, ""
        if _code(exc) == "InvalidRange":  # S3's answer to a range on an empty object
            return b"", ""
        return None, f"{_code(exc) or 'error'} reading s3://{bucket}/{key}"
    total = _CONTENT_RANGE_TOTAL.fullmatch(answer.get("ContentRange") or "")
    size = int(total.group(1)) if total else answer.get("ContentLength")
    if isinstance(size, int) and size > limit:
        answer["Body"].close()
        return None, f"s3://{bucket}/{key} is larger than {limit} bytes ({size})"
    data = answer["Body"].read(limit + 1)
    if len(data) > limit:
        return None, f"s3://{bucket}/{key} is larger than {limit} bytes"
    return data, ""


def read_marker(s3, bucket, prefix, owner=""):
    """(marker, error): the parsed ``<prefix>state.json``, (None, '') when there is none."""
    body, error = read_capped(s3, bucket, prefix + MARKER_NAME, MARKER_MAX_BYTES, owner)
    if body is None:
        return None, error
    try:
        return parse_marker(body), ""
    except ResultsError as exc:
        return None, str(exc)


def read_legs(s3, bucket, prefix, owner=""):
    """(text, error): ``<prefix>state/legs.json`` as text ('' when there is none), at most LEGS_MAX_BYTES of it; an
    error (too large, unreadable, not UTF-8) leaves the text ''."""
    body, error = read_capped(s3, bucket, prefix + LEGS_NAME, snapshot_state.LEGS_MAX_BYTES, owner)
    if body is None:
        return "", error
    try:
        return body.decode("utf-8"), ""
    except UnicodeDecodeError:
        return "", f"s3://{bucket}/{prefix}{LEGS_NAME} is not UTF-8 text"


def iam_role_state(iam, name, project):
    """{name, exists, ours, arn, path, run_id, tags, inline_policies, managed_policies} of one role."""
    out = {"name": name, "exists": False, "ours": False, "arn": "", "path": "", "run_id": "", "tags": {},
           "inline_policies": [], "managed_policies": []}
    role = _iam_get(iam.get_role, "Role", RoleName=name)
    if role is None:
        return out
    tags = {t["Key"]: t["Value"] for t in role.get("Tags") or []}
    out.update(exists=True, arn=role.get("Arn", ""), path=role.get("Path", ""), tags=tags,
               run_id=tags.get(TAG_PREFIX + "run-id", ""))
    out["ours"] = (tags.get(TAG_PREFIX + "project") == project and role.get("Path") == iam_path(project)
                   and _fullmatch(NAME_RE, out["run_id"]) and role_name(project, out["run_id"]) == name)
    out["inline_policies"] = [n for page in _pages(iam.list_role_policies, {"Marker": "Marker"}, RoleName=name)
                              for n in page.get("PolicyNames", [])]
    out["managed_policies"] = [p.get("PolicyArn") for page in _pages(iam.list_attached_role_policies, {"Marker": "Marker"}, RoleName=name)
                               for p in page.get("AttachedPolicies", [])]
    return out


def iam_profile_state(iam, name, project):
    """{name, exists, ours, arn, roles, tags} of one instance profile."""
    out = {"name": name, "exists": False, "ours": False, "arn": "", "roles": [], "tags": {}}
    profile = _iam_get(iam.get_instance_profile, "InstanceProfile", InstanceProfileName=name)
    if profile is None:
        return out
    tags = {t["Key"]: t["Value"] for t in profile.get("Tags") or []}
    out.update(exists=True, arn=profile.get("Arn", ""), tags=tags, roles=[r.get("RoleName") for r in profile.get("Roles", [])])
    out["ours"] = tags.get(TAG_PREFIX + "project") == project and profile.get("Path") == iam_path(project)
    return out


def list_project_role_runs(iam, project):
    """Run ids of the project's roles (ListRoles on the project's IAM path, each role's run-id tag from GetRole),
    and the names of roles on that path that are not the project's."""
    runs, refused = [], []
    for page in _pages(iam.list_roles, {"Marker": "Marker"}, PathPrefix=iam_path(project)):
        for role in page.get("Roles", []):
            state = iam_role_state(iam, role["RoleName"], project)
            (runs if state["ours"] else refused).append(state["run_id"] if state["ours"] else role["RoleName"])
    return runs, refused
