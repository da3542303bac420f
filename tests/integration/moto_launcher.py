"""Starts moto's server (the fake AWS of the tests) with its corrections: how it reads S3 bucket policies, the EC2
call DeleteLaunchTemplateVersions, which it lacks, RunInstances refused for capacity, S3's ExpectedBucketOwner, which
it ignores, the tags of a bucket in another account, which it hides, and the state reason of an instance that shut
itself down.

moto answers a request on an object with a bucket policy's statement as soon as the statement's Action and Resource
match, and when the statement has a Condition it cannot check against the request, it answers Deny, whatever the
statement's Effect (moto 5.x, IAMPolicyStatement.is_action_permitted). So the results bucket's policy, which denies
requests made without TLS (``{"Bool": {"aws:SecureTransport": "false"}}``), makes moto deny every object request.

Real S3 evaluates the condition: every client of the real journey (botocore, the AWS CLI on the instance) speaks TLS,
so the statement does not apply to them. Here the fake is reached over plain HTTP on 127.0.0.1 and stands in for S3
over TLS: this launcher evaluates ``aws:SecureTransport`` as ``true`` in bucket policies, and a statement whose
condition does not hold does not apply (as in AWS). A statement with any other condition key or operator is left to
moto unchanged. A bucket policy without conditions, or with one that holds, still allows or denies as moto does,
so a deny the real S3 would give is still given (tests/integration/test_aws_run_results.py shows it).

DeleteLaunchTemplateVersions: amazon.aws.ec2_launch_template (state absent) deletes a template's non-default versions
before the template, and moto 5.x answers that call with "not implemented" (a 500), so tearing down a spot run whose
launch template got a second version (a re-provision) fails here where AWS succeeds. The launcher adds it as AWS
documents it: each listed version is deleted, except the default version and versions that do not exist, which are
listed as unsuccessful with AWS's error codes; version numbers are never reused (a new version takes the highest
number ever given plus one).

RunInstances, where moto never says no and launches MinCount instances whatever MaxCount says, answers as EC2 does:

- EC2 launches as many instances as it can place in the zone, from MinCount up to MaxCount, and none when it cannot
  place MinCount (RunInstances, MinCount and MaxCount, EC2 API reference). The launcher launches min(MaxCount, what
  the capacity map leaves) and refuses below MinCount.
- A zone that does not offer the type (DescribeInstanceTypeOfferings, moto's own data) refuses it with HTTP 400,
  ``Unsupported``: "Your requested instance type (T) is not supported in your requested Availability Zone (Z). Please
  retry your request by not specifying an Availability Zone or choosing Z1, Z2." (the zones that offer it).
- The capacity map refuses with HTTP 500 (a server error, which botocore's default retry mode repeats),
  ``InsufficientInstanceCapacity``: on demand "We currently do not have sufficient T capacity in the Availability Zone
  you requested (Z). Our system will be working on provisioning additional capacity. You can currently get T capacity
  by not specifying an Availability Zone in your request or choosing Z1, Z2." (the zones offering T that have room;
  when none has, the message ends after the second sentence), and for spot "There is no Spot capacity available that
  matches your request.". Nothing is created before the refusal.
- An instance launched through a launch template whose market options say spot is a spot instance (instanceLifecycle
  spot), as when the options are given in the call; and an instance profile given in the call goes to every instance
  launched, not only the first.

The capacity map is a JSON file named by the environment variable MOCHA_CLOUD_FAKE_EC2_CAPACITY, read at every
RunInstances (tests change it between calls): {"[market:]type@zone": instances}, with shell wildcards in each part,
e.g. {"g4dn.xlarge@us-east-1a": 0, "spot:*@*": 0, "*@us-east-1c": 1}. A key is a pool: the pending and running instances
that match it count against its number, and a launch must fit in every pool it matches. No matching key: no limit.

ExpectedBucketOwner (header x-amz-expected-bucket-owner): S3 refuses a request whose expected owner is not the bucket's
owner with 403 AccessDenied, and one whose value is not a 12-digit account id with 400 InvalidBucketOwnerAWSAccountID,
on every bucket and object operation ("Verifying bucket ownership with bucket owner condition", Amazon S3 User Guide;
HeadBucket answers 400, 403 or 200 as versity/versitygw#1428 measured on S3). moto 5.x ignores the header, so a bucket of
the same name in another account would be used. The launcher refuses as S3 does, before moto answers.

Bucket tags of a bucket in another account: S3 keeps a bucket's tags with the bucket, so whoever the bucket's policy
lets in reads the same tags (a bucket made and tagged by another account to look like the project's). moto 5.x keeps
them per account and answers NoSuchTagSet across accounts; the launcher reads and writes them in the owner's account.

An instance that shuts itself down: EC2 applies the instance's InstanceInitiatedShutdownBehavior when the operating
system of the instance powers it off (shutdown, poweroff; not halt): terminate ends it, stop stops it, with the state
reason Client.InstanceInitiatedShutdown (EC2 User Guide, "Change instance initiated shutdown behavior"). moto has no
operating system to watch (and routes only the operations of EC2's API model), so the FAKE EC2 host
(tests/fakes/ec2_host.py) applies that rule itself when an instance's container has powered itself off: it marks the
instance with the test-only tag fake:instance-initiated-shutdown, then terminates or stops it as its attribute says;
the launcher gives an instance so marked EC2's state reason for it, and removes the tag. Nothing outside tests/ sets it.

CreateImage: EC2 tags the image and its snapshots as the request's TagSpecifications say (amazon.aws ec2_ami sends both,
"image" and "snapshot"); moto 5.x raises NotImplementedError on a snapshot specification (a 500). The launcher tags
the snapshot moto makes for the image instead, and gives the image the instance's root device name, as EC2 does (moto
keeps /dev/sda1 whatever the instance's; its snapshot stays moto's 15 GiB). And an image
is the instance's disk at the moment of the call (NoReboot: a crash-consistent copy of what was on the volumes): when
the FAKE EC2 host (tests/fakes/ec2_host.py) has bound the instance to a container, the launcher commits that container
(podman commit) to the local image <image repo>:<ami id> before it answers, so nothing the host writes afterwards goes
in. EC2 answers CreateImage at once with the image pending, and makes it available once its snapshots are complete
(minutes to tens of minutes for a 100 GB volume): the image stays pending, as DescribeImages shows, for the seconds of
the JSON file MOCHA_CLOUD_FAKE_AMI_PENDING names ({"seconds": N}, read at each CreateImage; 20 without it; with
"release": true every pending image becomes available at once, so a test decides the moment). RunInstances from an
image that is not available is refused with HTTP 400 InvalidAMIID.Unavailable, "AMI 'ami-...' is pending, and cannot
be run" (EC2's answer to a launch from a
pending image). DeregisterImage removes that local image. The binding file is JSON, named by MOCHA_CLOUD_FAKE_EC2_HOSTS:
{"bindings": {instance id: container}, "image_repo": name, "env": {...}} (written by the FAKE EC2 host).

    python moto_launcher.py -H 127.0.0.1 -p PORT      (the same arguments as moto_server)
"""

import fnmatch
import json
import os
import re
import subprocess
import sys
import time

# The tag the FAKE EC2 host puts on an instance whose container powered itself off, just before it ends it.
SHUTDOWN_TAG = "fake:instance-initiated-shutdown"
# The request context the fake stands for: a client on TLS.
REQUEST_CONTEXT = {"aws:SecureTransport": "true"}
# The FAKE EC2 host's bindings of instances to containers (see the docstring).
HOSTS_ENV = "MOCHA_CLOUD_FAKE_EC2_HOSTS"
# A JSON file {"seconds": N}: how long an image made by CreateImage stays pending (see the docstring), read at each
# CreateImage; and the images still pending: {id: until}.
PENDING_ENV = "MOCHA_CLOUD_FAKE_AMI_PENDING"
DEFAULT_PENDING_S = 20.0
PENDING_UNTIL = {}


def condition_holds(condition):
    """True/False when every test in CONDITION is a Bool on a key of REQUEST_CONTEXT; None when moto must decide."""
    if not isinstance(condition, dict) or not condition:
        return None
    for operator, tests in condition.items():
        if operator != "Bool" or not isinstance(tests, dict):
            return None
        for key, expected in tests.items():
            if key not in REQUEST_CONTEXT:
                return None
            values = expected if isinstance(expected, list) else [expected]
            if REQUEST_CONTEXT[key] not in [str(v).lower() for v in values]:
                return False
    return True


def patch_moto():
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self, action, resource):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        doc = json.loads(self.policy)
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        result = PermissionResult.NEUTRAL
        for statement in statements:
            holds = condition_holds(statement.get("Condition"))
            if holds is False:
                continue  # the condition does not hold: the statement does not apply
            if holds is True:
                statement = {k: v for k, v in statement.items() if k != "Condition"}
            answer = IAMPolicyStatement(statement).is_action_permitted(action, resource)
            if answer == PermissionResult.DENIED:
                return answer
            if answer == PermissionResult.PERMITTED:
                result = answer
        return result

    FakeBucket.get_permission = get_permission
    patch_launch_template_versions()
    patch_capacity()
    patch_expected_bucket_owner()
    patch_bucket_tags_across_accounts()
    patch_instance_initiated_shutdown()
    patch_create_image()


def s3_error(status, code, message):
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            "<RequestId>MOTOLAUNCHER</RequestId></Error>")
    return status, {"content-type": "application/xml"}, body


def patch_expected_bucket_owner():
    from moto.s3.models import s3_backends
    from moto.s3.responses import S3Response

    def checked(original):
        def respond(self, request, full_url):
            expected = request.headers.get("x-amz-expected-bucket-owner")
            if expected is not None:
                if not re.fullmatch(r"[0-9]{12}", expected):
                    return s3_error(400, "InvalidBucketOwnerAWSAccountID",
                                    "The value of the expected bucket owner parameter must be an AWS Account ID... "
                                    f"[{expected}]")
                owner = s3_backends.bucket_accounts.get(self.parse_bucket_name_from_url(request, full_url))
                if owner is not None and owner[1] != expected:
                    return s3_error(403, "AccessDenied", "Access Denied")
            return original(self, request, full_url)

        return respond

    S3Response._bucket_response = checked(S3Response._bucket_response)
    S3Response._key_response = checked(S3Response._key_response)


def patch_bucket_tags_across_accounts():
    from moto.s3.models import S3Backend, s3_backends

    def owners(self, bucket_name):
        bucket = self.get_bucket(bucket_name)
        return bucket, s3_backends[bucket.account_id][bucket.partition]

    def get_bucket_tagging(self, bucket_name):
        bucket, backend = owners(self, bucket_name)
        return backend.tagger.list_tags_for_resource(bucket.arn)

    def put_bucket_tagging(self, bucket_name, tags):
        bucket, backend = owners(self, bucket_name)
        backend.tagger.delete_all_tags_for_resource(bucket.arn)
        backend.tagger.tag_resource(bucket.arn, [{"Key": key, "Value": value} for key, value in tags.items()])

    def delete_bucket_tagging(self, bucket_name):
        bucket, backend = owners(self, bucket_name)
        backend.tagger.delete_all_tags_for_resource(bucket.arn)

    S3Backend.get_bucket_tagging = get_bucket_tagging
    S3Backend.put_bucket_tagging = put_bucket_tagging
    S3Backend.delete_bucket_tagging = delete_bucket_tagging


def patch_instance_initiated_shutdown():
    from moto.ec2.models.instances import Instance, StateReason

    def wrap(method):
        def ended(self, *args, **kwargs):
            answer = method(self, *args, **kwargs)
            if any(t.get("key") == SHUTDOWN_TAG for t in self.get_tags()):
                self.state_reason = StateReason("Client.InstanceInitiatedShutdown: Instance initiated shutdown",
                                                "Client.InstanceInitiatedShutdown")
                self.ec2_backend.delete_tags([self.id], {SHUTDOWN_TAG: None})
            return answer
        return ended

    Instance.terminate = wrap(Instance.terminate)
    Instance.stop = wrap(Instance.stop)


def fake_hosts():
    """The FAKE EC2 host's binding file ({} when there is none)."""
    path = os.environ.get(HOSTS_ENV)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (TypeError, OSError, ValueError):
        return {}


def podman(args, hosts):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=False, timeout=600,
                          env={**os.environ, **(hosts.get("env") or {})})


def patch_create_image():
    from moto.ec2.models.amis import AmiBackend

    original_create, original_deregister = AmiBackend.create_image, AmiBackend.deregister_image
    original_describe = AmiBackend.describe_images

    def create_image(self, instance_id, name, description, tag_specifications):
        snapshot_tags = [t for spec in tag_specifications or [] if spec.get("ResourceType") == "snapshot"
                         for t in spec.get("Tags", [])]
        others = [spec for spec in tag_specifications or [] if spec.get("ResourceType") != "snapshot"]
        hosts = fake_hosts()
        container = (hosts.get("bindings") or {}).get(instance_id)
        ami = original_create(self, instance_id, name, description, others)
        ami.root_device_name = self.get_instance(instance_id).root_device_name
        for t in snapshot_tags:
            ami.ebs_snapshot.add_tag(t["Key"], t["Value"])
        if container:
            done = podman(["commit", container, f"{hosts['image_repo']}:{ami.id}"], hosts)
            if done.returncode != 0:
                raise RuntimeError(f"podman commit {container} failed: {done.stderr.strip()}")
        # EC2 answers at once with the image pending; it becomes available once its snapshots are complete.
        ami.state = "pending"
        PENDING_UNTIL[ami.id] = time.monotonic() + image_pending_seconds()
        return ami

    def describe_images(self, *args, **kwargs):
        ready_pending(self)
        return original_describe(self, *args, **kwargs)

    def deregister_image(self, ami_id):
        answer = original_deregister(self, ami_id)
        hosts = fake_hosts()
        if hosts.get("image_repo"):
            podman(["rmi", "-f", f"{hosts['image_repo']}:{ami_id}"], hosts)
        return answer

    AmiBackend.create_image = create_image
    AmiBackend.deregister_image = deregister_image
    AmiBackend.describe_images = describe_images


def pending_settings():
    """The file MOCHA_CLOUD_FAKE_AMI_PENDING names: {"seconds": N, "release": bool}; {} without it."""
    try:
        with open(os.environ.get(PENDING_ENV) or "", encoding="utf-8") as f:
            found = json.load(f)
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):
        return {}


def image_pending_seconds():
    """Seconds a new image stays pending (DEFAULT_PENDING_S unless the file says)."""
    try:
        return float(pending_settings().get("seconds", DEFAULT_PENDING_S))
    except (TypeError, ValueError):
        return DEFAULT_PENDING_S


def ready_pending(backend):
    """The images whose pending time is over become available (EC2: once their snapshots are complete)."""
    now = float("inf") if PENDING_UNTIL and pending_settings().get("release") else time.monotonic()
    for ami_id, until in list(PENDING_UNTIL.items()):
        ami = backend.amis.get(ami_id)
        if ami is None:
            PENDING_UNTIL.pop(ami_id, None)
        elif now >= until and ami.state == "pending":
            ami.state = "available"
            PENDING_UNTIL.pop(ami_id, None)


def unavailable_image(backend, image_id):
    """EC2's answer to RunInstances from an image that is not available (pending, failed): InvalidAMIID.Unavailable;
    None when the image can be launched from (or is not one this fake made)."""
    ready_pending(backend)
    ami = backend.amis.get(image_id or "")
    if ami is None or ami.state == "available":
        return None
    return f"AMI '{image_id}' is {ami.state}, and cannot be run"


def patch_launch_template_versions():
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import InvalidLaunchTemplateVersionNotFound
    from moto.ec2.models.launch_templates import LaunchTemplate, LaunchTemplateVersion
    from moto.ec2.responses.launch_templates import LaunchTemplates

    def by_number(template, num):
        for version in template.versions:
            if version.number == int(num):
                return version
        raise InvalidLaunchTemplateVersionNotFound(template_id=template.id, version=num)

    def get_version(self, num):
        if str(num).lower() == "$latest":
            return self.versions[-1]
        if str(num).lower() == "$default":
            return self.default_version()
        return by_number(self, num)

    def create_version(self, data, description):
        self.highest_version = max(getattr(self, "highest_version", 0), *(v.number for v in self.versions), 0) + 1
        version = LaunchTemplateVersion(self, self.highest_version, data, description)
        self.versions.append(version)
        return version

    def delete_launch_template_versions(self):
        tid, name = self._get_param("LaunchTemplateId"), self._get_param("LaunchTemplateName")
        self.error_on_dryrun()
        template = self.ec2_backend.get_launch_template(tid) if tid else self.ec2_backend.get_launch_template_by_name(name)
        done, refused = [], []
        for num in self._get_param("Versions", []):
            ref = {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "VersionNumber": int(num)}
            found = [v for v in template.versions if v.number == int(num)]
            if not found:
                refused.append(ref | {"ResponseError": {"Code": "launchTemplateVersionDoesNotExist",
                                                         "Message": f"The launch template version {num} does not exist"}})
            elif template.is_default(found[0]):
                refused.append(ref | {"ResponseError": {"Code": "launchTemplateVersionDefaultNotDeletable",
                                                         "Message": "The default version cannot be deleted"}})
            else:
                template.versions.remove(found[0])
                done.append(ref)
        return ActionResult({"SuccessfullyDeletedLaunchTemplateVersions": done,
                             "UnsuccessfullyDeletedLaunchTemplateVersions": refused})

    LaunchTemplate.get_version = get_version
    LaunchTemplate.default_version = lambda self: by_number(self, self.default_version_number)
    LaunchTemplate.create_version = create_version
    LaunchTemplates.delete_launch_template_versions = delete_launch_template_versions


CAPACITY_ENV = "MOCHA_CLOUD_FAKE_EC2_CAPACITY"
LIVE = ("pending", "running")


def load_capacity(path):
    """The capacity map of the file PATH ({} when unset or absent)."""
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return {str(k): int(v) for k, v in (data or {}).items()}


def pool_of(key):
    """'spot:g4dn.*@us-east-1a' -> (market pattern, type pattern, zone pattern)."""
    market, _, rest = key.rpartition(":")
    itype, _, zone = rest.partition("@")
    return market or "*", itype or "*", zone or "*"


def in_pool(key, itype, zone, market):
    m, t, z = pool_of(key)
    return fnmatch.fnmatchcase(market, m) and fnmatch.fnmatchcase(itype, t) and fnmatch.fnmatchcase(zone, z)


def room(capacity, live, itype, zone, market):
    """How many more instances of ITYPE the map lets run in ZONE on MARKET (None: no limit). LIVE: (type, zone,
    market) of the pending and running instances."""
    left = None
    for key, size in capacity.items():
        if in_pool(key, itype, zone, market):
            used = sum(1 for i in live if in_pool(key, *i))
            left = max(0, size - used) if left is None else min(left, max(0, size - used))
    return left


def insufficient_message(itype, zone, market, others):
    if market == "spot":
        return "There is no Spot capacity available that matches your request."
    text = (f"We currently do not have sufficient {itype} capacity in the Availability Zone you requested ({zone}). "
            "Our system will be working on provisioning additional capacity.")
    if others:
        text += f" You can currently get {itype} capacity by not specifying an Availability Zone in your request or " \
                f"choosing {', '.join(others)}."
    return text


def unsupported_message(itype, zone, offered):
    return (f"Your requested instance type ({itype}) is not supported in your requested Availability Zone ({zone}). "
            f"Please retry your request by not specifying an Availability Zone or choosing {', '.join(offered)}.")


def patch_capacity():
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.instance_types import INSTANCE_TYPE_OFFERINGS
    from moto.ec2.responses.instances import InstanceResponse

    original = InstanceResponse.run_instances

    def refuse(self, code, message, status):
        """EC2's error answer with EC2's HTTP status (moto's serializer gives 400 to every error it does not model)."""
        _status, headers, body = self.serialized(ActionResult(EC2ClientError(code, message)))
        headers["status"] = status
        return body, headers

    def request(self):
        """(type, zone, market) the call asks for: the zone of its subnet (or placement), the market of its options or
        of its launch template's."""
        backend = self.ec2_backend
        template = {}
        if self._get_param("LaunchTemplate"):
            template = backend._get_template_from_args(self._get_param("LaunchTemplate")).data
        itype = self._get_param("InstanceType") or template.get("InstanceType") or "m1.small"
        subnet_id = self._get_param("SubnetId") or next(
            (n.get("SubnetId") for n in self._get_param("NetworkInterfaces", []) if n.get("SubnetId")), None)
        if subnet_id:
            zone = backend.get_subnet(subnet_id).availability_zone
        else:
            zone = self._get_param("Placement.AvailabilityZone") or (self._get_param("Placement") or {}).get(
                "AvailabilityZone") or self.region + "a"
        options = self._get_param("InstanceMarketOptions") or template.get("InstanceMarketOptions") or {}
        market = "spot" if str(options.get("MarketType", "")).lower() == "spot" else "on-demand"
        return itype, zone, market

    def live(backend):
        return [(i.instance_type, i.placement.zone, "spot" if i.lifecycle == "spot" else "on-demand")
                for r in backend.reservations.values() for i in r.instances if i.state in LIVE]

    def run_instances(self):
        itype, zone, market = request(self)
        template = (self.ec2_backend._get_template_from_args(self._get_param("LaunchTemplate")).data
                    if self._get_param("LaunchTemplate") else {})
        unavailable = unavailable_image(self.ec2_backend, self._get_param("ImageId") or template.get("ImageId"))
        if unavailable:
            return refuse(self, "InvalidAMIID.Unavailable", unavailable, 400)
        offers = INSTANCE_TYPE_OFFERINGS["availability-zone"].get(self.region, [])
        offered = sorted({o["Location"] for o in offers if o["InstanceType"] == itype})
        if offered and zone not in offered:
            return refuse(self, "Unsupported", unsupported_message(itype, zone, offered), 400)
        capacity = load_capacity(os.environ.get(CAPACITY_ENV))
        lo = int(self._get_param("MinCount", 1))
        hi = max(lo, int(self._get_param("MaxCount", lo)))
        running = live(self.ec2_backend)
        left = room(capacity, running, itype, zone, market)
        if left is not None and left < lo:
            others = [z for z in offered if z != zone and room(capacity, running, itype, z, market) != 0]
            return refuse(self, "InsufficientInstanceCapacity", insufficient_message(itype, zone, market, others), 500)
        self.params["MinCount"] = hi if left is None else min(hi, left)
        result = original(self)
        profile = self._get_param("IamInstanceProfile") or {}
        for index, instance in enumerate(result.result.instances):
            if market == "spot":
                instance.lifecycle = "spot"
            if index and (profile.get("Arn") or profile.get("Name")):
                self.ec2_backend.associate_iam_instance_profile(
                    instance_id=instance.id, iam_instance_profile_name=profile.get("Name"),
                    iam_instance_profile_arn=profile.get("Arn"))
        return result

    InstanceResponse.run_instances = run_instances


if __name__ == "__main__":
    patch_moto()
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
