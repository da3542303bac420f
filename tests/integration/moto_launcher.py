"""Starts moto's server (the fake AWS of the tests) with one correction to how it reads S3 bucket policies.

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

    python moto_launcher.py -H 127.0.0.1 -p PORT      (the same arguments as moto_server)
"""

import json
import sys

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


if __name__ == "__main__":
    patch_moto()
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
