#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: aws_gpu_runs_info
short_description: List a project's training runs in an AWS region, with what is left of each and a verdict
version_added: "0.1.0"
description:
  - Finds the runs of I(project) in the region (or the one run I(run_id)) from three places, so a run is found even
    when its instance is long gone, and says for each what it is now.
  - EC2 instances tagged C(mocha-cloud:project) (and C(mocha-cloud:run-id)), live ones and, with
    I(include_terminated=true), the terminated ones EC2 still lists (about an hour after they end), each with its state,
    state reason (C(Server.SpotInstanceTermination) for a spot interruption, C(Client.InstanceInitiatedShutdown) for
    the self-destruct timer, C(Client.UserInitiatedShutdown) for a teardown), launch time and end time.
  - With I(bucket), the prefixes C(<project>/<run id>/) in the results bucket, the objects under each, and the state
    marker C(<project>/<run id>/state.json) the training host writes (a JSON object with C(state), one of running,
    interrupted, finished or failed, C(iteration) and C(updated_at)), read as untrusted input (at most 64 KiB). With
    I(legs) as well, each run's C(<project>/<run id>/state/legs.json) (at most 1 MiB).
  - The bucket must belong to I(bucket_owner), the caller's own account unless given. HeadBucket with
    C(ExpectedBucketOwner) comes first, and every S3 call passes it. A bucket of that name in another account (bucket
    names are global, so anyone may have made it first) answers 403 and is neither read nor counted as the project's,
    whatever its tags say.
  - The IAM roles on the project's path C(/mocha-cloud/<project>/) and each run's role and instance profile
    C(<project>-<run id>); only those tagged with the project (and, for roles, the run id their name is made from)
    count as the project's.
  - The verdict of each run is C(finished) (the marker says so), C(running) (an instance is pending or running),
    C(failed) (the marker says so), C(stopped) (an instance is stopping or stopped), C(interrupted) (the marker says
    so, or says running while no instance of the run is live) or C(vanished) (no live instance and no marker).
  - Changes nothing.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  project:
    description: The project, the value of the tag C(mocha-cloud:project).
    type: str
    required: true
  run_id:
    description: Only this run. Without it every run of the project in the region is listed (IAM ListRoles on the
      project's path, S3 ListObjectsV2 on C(<project>/)).
    type: str
  bucket:
    description: The results bucket. Without it the S3 part is left out (no prefixes, no markers).
    type: str
  bucket_owner:
    description: The account (12 digits) the bucket must belong to. Default the caller's (STS GetCallerIdentity).
    type: str
  legs:
    description: Also read each run's legs.json (RV(runs[].legs)).
    type: bool
    default: false
  include_terminated:
    description: Also list instances that have ended (as long as EC2 lists them).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads only; the same answer in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    support: full
    membership: [mocha.cloud.aws]
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
notes:
  - Calls EC2 DescribeInstances; STS GetCallerIdentity (with I(bucket), without I(bucket_owner)); S3 HeadBucket,
    GetBucketTagging, GetBucketVersioning, ListObjectsV2, ListObjectVersions (versioned buckets only) and GetObject
    (the markers, the legs), each with ExpectedBucketOwner; IAM GetRole, ListRolePolicies, ListAttachedRolePolicies,
    GetInstanceProfile and, without I(run_id), ListRoles.
  - A bucket that is not tagged C(mocha-cloud:project=<project>) is reported (C(ours) false in RV(bucket)) but not read.
  - AWS calls are retried with jittered backoff when throttled.
seealso:
  - module: mocha.cloud.aws_gpu_quota
"""

EXAMPLES = r"""
- name: What is left of every run of the project in us-east-1?
  mocha.cloud.aws_gpu_runs_info:
    region: us-east-1
    project: mocha-cloud
    bucket: mocha-cloud-results-123456789012-us-east-1
  register: found

- name: The runs recover.yml would resume
  ansible.builtin.debug:
    msg: "{{ found.runs | selectattr('verdict', 'in', ['interrupted', 'vanished']) | map(attribute='run_id') }}"
"""

RETURN = r"""
runs:
  description: One entry per run id found, sorted by run id.
  returned: success
  type: list
  elements: dict
  contains:
    run_id: {description: The run id., type: str, sample: exp1}
    verdict:
      description: finished, running, failed, stopped, interrupted or vanished (see the description).
      type: str
      sample: interrupted
    reason: {description: "Why, in one sentence.", type: str}
    instances:
      description: The run's instances, oldest first.
      type: list
      elements: dict
      contains:
        instance_id: {description: Instance id., type: str}
        instance_type: {description: Instance type., type: str}
        market: {description: C(spot) or C(on-demand)., type: str}
        availability_zone: {description: Availability zone., type: str}
        state: {description: EC2 state name., type: str, sample: terminated}
        state_reason_code: {description: EC2 state reason code., type: str, sample: Server.SpotInstanceTermination}
        state_reason_message: {description: EC2 state reason message., type: str}
        state_transition_reason: {description: EC2 state transition reason., type: str}
        launch_time: {description: "Launch time (UTC, C(YYYY-MM-DDTHH:MM:SSZ)).", type: str}
        end_time: {description: "When it stopped or ended, from the transition reason; empty when unknown.", type: str}
        run_id: {description: The run-id tag., type: str}
        project: {description: The project tag., type: str}
        expires_at:
          description: The expires-at tag (when the instance powers itself off at the latest), only in its strict form; empty otherwise.
          type: str
    live_instances: {description: "Ids of the instances not ended (pending, running, stopping, stopped).", type: list, elements: str}
    interruptions: {description: Instances ended by a spot interruption., type: int}
    marker:
      description: The parsed state.json (state, iteration, updated_at, host, snapshot), or null.
      type: dict
    marker_error: {description: Why state.json could not be used; empty when it was or there was none., type: str}
    legs: {description: "With I(legs), the text of legs.json ('' when there is none, or it could not be read).", type: str}
    legs_error: {description: "With I(legs), why legs.json could not be read (larger than 1 MiB, not UTF-8, ...); empty when it was.", type: str}
    prefix: {description: "The run's prefix in the bucket, C(<project>/<run id>/).", type: str}
    objects: {description: Current objects under the prefix (0 without a bucket)., type: int}
    bytes: {description: Their size in bytes., type: int}
    role:
      description: The run's IAM role C(<project>-<run id>) (exists, ours, arn, path, run_id, tags, inline_policies, managed_policies).
      type: dict
    instance_profile:
      description: The run's instance profile (exists, ours, arn, roles, tags).
      type: dict
bucket:
  description: >-
    The results bucket (name, owner, exists, accessible, ours, tags, versioning, objects, versions); empty without
    I(bucket). C(owner) is the account it was required to belong to.
  returned: success
  type: dict
refused:
  description: Things found that do not belong to the project's runs (malformed run ids, roles on the path not tagged for the project).
  returned: success
  type: list
  elements: str
msg:
  description: One-line summary.
  returned: always
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402 (after DOCUMENTATION)
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils import aws_results, names  # noqa: E402

try:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError
except ImportError:
    pass  # AnsibleAWSModule reports a missing boto3/botocore itself


def discover(module, ec2, s3, iam, sts):
    """Every run of the project (or the one run), as aws_gpu_runs_info returns them."""
    p = module.params
    project, run_id, bucket = p["project"], p["run_id"] or None, p["bucket"] or ""
    refused = []
    owner = (p["bucket_owner"] or sts.get_caller_identity(aws_retry=True)["Account"]) if bucket else ""

    instances = aws_results.describe_project_instances(ec2, project, run_id, p["include_terminated"])
    by_run = {}
    for record in instances:
        if names.NAME_RE.fullmatch(record["run_id"] or ""):
            by_run.setdefault(record["run_id"], []).append(record)
        else:
            refused.append(f"instance {record['instance_id']}: its tag mocha-cloud:run-id {record['run_id']!r} is not a run id")
    run_ids = set(by_run)
    if run_id:
        run_ids.add(run_id)

    bucket_info = {}
    if bucket:
        bucket_info = aws_results.bucket_state(s3, bucket, project, owner)
        if bucket_info["exists"] and not bucket_info["accessible"]:
            refused.append(f"bucket {bucket} is not account {owner}'s (HeadBucket with ExpectedBucketOwner={owner} was "
                           "refused), or not readable: not read")
        elif bucket_info["exists"] and not bucket_info["ours"]:
            refused.append(f"bucket {bucket} is not tagged mocha-cloud:project={project}: not read")
        if bucket_info["ours"] and not run_id:
            found, bad = aws_results.list_run_prefixes(s3, bucket, project, owner)
            run_ids.update(found)
            refused.extend(f"prefix {project}/{b}/ in {bucket}: not a run id" for b in bad)

    if not run_id:
        found, bad = aws_results.list_project_role_runs(iam, project)
        run_ids.update(found)
        refused.extend(f"IAM role {b} on {aws_results.iam_path(project)} is not tagged as a run of {project}" for b in bad)

    runs = []
    for rid in sorted(run_ids):
        prefix = aws_results.run_prefix(project, rid)
        marker, marker_error, content = None, "", {"objects": 0, "bytes": 0}
        extra = {"legs": "", "legs_error": ""} if p["legs"] else {}
        if bucket_info.get("ours"):
            marker, marker_error = aws_results.read_marker(s3, bucket, prefix, owner)
            content = aws_results.prefix_state(s3, bucket, prefix, owner)
            if p["legs"]:
                extra["legs"], extra["legs_error"] = aws_results.read_legs(s3, bucket, prefix, owner)
        name = aws_results.role_name(project, rid)
        runs.append(aws_results.summarize_run(
            rid, by_run.get(rid, []), marker, marker_error, prefix=prefix, objects=content["objects"], bytes=content["bytes"],
            role=aws_results.iam_role_state(iam, name, project), instance_profile=aws_results.iam_profile_state(iam, name, project),
            **extra))
    counts = {}
    for run in runs:
        counts[run["verdict"]] = counts.get(run["verdict"], 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "none"
    return {"changed": False, "runs": runs, "bucket": bucket_info, "refused": refused,
            "msg": f"{len(runs)} run(s) of {project} in {module.region}: {summary}"}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            project=dict(type="str", required=True),
            run_id=dict(type="str"),
            bucket=dict(type="str"),
            bucket_owner=dict(type="str"),
            legs=dict(type="bool", default=False),
            include_terminated=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = [aws_results.bucket_name_problem(p["bucket"], "bucket") if p["bucket"] else None]
    if p["bucket_owner"] and not aws_results.ACCOUNT_RE.fullmatch(p["bucket_owner"]):
        problems.append(f"bucket_owner must be an account id (12 digits), got {p['bucket_owner']!r}")
    for key in ("project", "run_id"):
        if p[key] is not None:
            problems.append(names.name_problem(p[key], key))
    problems = [x for x in problems if x]
    if problems:
        module.fail_json(msg="; ".join(problems))
    if not module.region:
        module.fail_json(msg="no AWS region: set region (or aws_gpu_instance_region in the settings), or AWS_REGION")

    retry = AWSRetry.jittered_backoff()
    try:
        result = discover(module, module.client("ec2", retry_decorator=retry), module.client("s3", retry_decorator=retry),
                          module.client("iam", retry_decorator=retry), module.client("sts", retry_decorator=retry))
    except (NoCredentialsError, PartialCredentialsError) as exc:
        module.fail_json(msg=f"no AWS credentials ({exc}): export AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    except (ClientError, BotoCoreError) as exc:
        module.fail_json_aws(exc, msg=f"AWS call failed while listing the runs of {p['project']} in {module.region}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
