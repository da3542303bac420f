"""Starts moto's server (the fake AWS of the tests) with two corrections, how it reads S3 bucket policies and the EC2
call DeleteLaunchTemplateVersions, which it lacks, and the state reason of an instance that shut itself down.

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

An instance that shuts itself down: EC2 applies the instance's InstanceInitiatedShutdownBehavior when the operating
system of the instance powers it off (shutdown, poweroff; not halt): terminate ends it, stop stops it, with the state
reason Client.InstanceInitiatedShutdown (EC2 User Guide, "Change instance initiated shutdown behavior"). moto has no
operating system to watch (and routes only the operations of EC2's API model), so the FAKE EC2 host
(tests/fakes/ec2_host.py) applies that rule itself when an instance's container has powered itself off: it marks the
instance with the test-only tag fake:instance-initiated-shutdown, then terminates or stops it as its attribute says;
the launcher gives an instance so marked EC2's state reason for it, and removes the tag. Nothing outside tests/ sets it.

    python moto_launcher.py -H 127.0.0.1 -p PORT      (the same arguments as moto_server)
"""

import json
import sys

# The tag the FAKE EC2 host puts on an instance whose container powered itself off, just before it ends it.
SHUTDOWN_TAG = "fake:instance-initiated-shutdown"
# The request context the fake stands for: a client on TLS.
REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


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
    patch_instance_initiated_shutdown()


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


if __name__ == "__main__":
    patch_moto()
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
