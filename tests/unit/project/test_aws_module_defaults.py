"""One rule, one place: what every AWS module call is given (module_defaults for group/mocha.cloud.aws) is written once,
as the aws_gpu_instance role's default aws_gpu_instance_module_defaults; the role's blocks and the playbooks name it
(``group/mocha.cloud.aws: "{{ aws_gpu_instance_module_defaults }}"``) and never spell the region or an endpoint out
again. botocore reads AWS_ENDPOINT_URL from the environment itself, so nobody passes it on.

Allowed, with its reason:
- roles/aws_gpu_instance/tasks/image_base.yml reads the AMI's SSM parameter with a lookup, which module_defaults do not
  reach: it names the region and endpoint itself.
"""

import yaml
from conftest import REPO

OWNER = "roles/aws_gpu_instance/defaults/main.yml"
NAME = "aws_gpu_instance_module_defaults"
REFERENCE = "{{ " + NAME + " }}"
ROOTS = ("site.yml", "playbooks", "roles", "molecule", "tests/integration", "tests/pipeline")
ENDPOINT_ALLOWED = {"roles/aws_gpu_instance/tasks/image_base.yml"}
# The keys of module_defaults that reach an AWS module: the collection's group, amazon.aws's, or one module of either.
AWS_KEYS = ("group/mocha.cloud.aws", "group/amazon.aws.", "amazon.aws.", "mocha.cloud.aws_")


def yaml_files():
    for root in ROOTS:
        path = REPO / root
        paths = [path] if path.is_file() else sorted(path.rglob("*.yml")) if path.is_dir() else []
        yield from (p for p in paths if ".venv" not in p.parts and "fixtures" not in p.parts)


def module_defaults(node):
    """Every module_defaults value under a parsed YAML node (plays, blocks, tasks), as dicts."""
    if isinstance(node, list):
        for item in node:
            yield from module_defaults(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "module_defaults":
                yield from (value if isinstance(value, list) else [value])
            else:
                yield from module_defaults(value)


def copies(path):
    """The AWS entries of PATH's module_defaults that are not the one reference."""
    found = []
    for defaults in module_defaults(yaml.safe_load(path.read_text()) or []):
        for key, value in (defaults or {}).items() if isinstance(defaults, dict) else []:
            if str(key).startswith(AWS_KEYS) and value != REFERENCE:
                found.append(f"{key}: {value!r}")
    return found


def endpoint_lines(path):
    return [n for n, line in enumerate(path.read_text().splitlines(), 1)
            if "AWS_ENDPOINT_URL" in line.split("#", 1)[0] and "lookup(" in line]


def test_the_reader_finds_a_copy(tmp_path):
    """The search itself: a block written out, at a play or a task, and a single module's entry are found; the
    reference is not."""
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: localhost\n  module_defaults:\n    group/mocha.cloud.aws: \"{{ aws_gpu_instance_module_defaults }}\"\n"
        "  tasks:\n    - block:\n        - ansible.builtin.debug:\n      module_defaults:\n        group/mocha.cloud.aws:\n"
        "          region: us-east-1\n    - amazon.aws.s3_object: {}\n      module_defaults:\n"
        "        amazon.aws.s3_object: {region: \"{{ aws_gpu_instance_region }}\"}\n")
    assert copies(play) == ["group/mocha.cloud.aws: {'region': 'us-east-1'}",
                            "amazon.aws.s3_object: {'region': '{{ aws_gpu_instance_region }}'}"]
    task = tmp_path / "task.yml"
    task.write_text("- amazon.aws.ec2_instance:\n    endpoint_url: \"{{ lookup('ansible.builtin.env', 'AWS_ENDPOINT_URL') }}\"\n")
    assert endpoint_lines(task) == [2]


def test_the_aws_module_defaults_are_written_once():
    owner = yaml.safe_load((REPO / OWNER).read_text())
    assert owner[NAME] == {"region": "{{ aws_gpu_instance_region }}"}, "the rule's owner defines it"
    found = {p.relative_to(REPO).as_posix(): c for p in yaml_files() for c in [copies(p)] if c}
    assert not found, (f"module_defaults for AWS written out again: {found}; say "
                       f"'group/mocha.cloud.aws: \"{REFERENCE}\"' (import the role's entry point settings in a play)")
    defined = sorted(p.relative_to(REPO).as_posix() for p in yaml_files()
                     if p.name != "argument_specs.yml" and f"\n{NAME}:" in "\n" + p.read_text())
    assert defined == [OWNER], f"{NAME} defined outside its owner: {defined}"


def test_nobody_passes_the_endpoint_on():
    """botocore reads AWS_ENDPOINT_URL itself (amazon.aws's modules and this collection's, and the EC2 inventory)."""
    found = {p.relative_to(REPO).as_posix(): endpoint_lines(p) for p in yaml_files()}
    found = {k: v for k, v in found.items() if v and k not in ENDPOINT_ALLOWED}
    assert not found, f"AWS_ENDPOINT_URL passed on by hand in {found}: botocore reads it from the environment"
    assert all(endpoint_lines(REPO / p) for p in ENDPOINT_ALLOWED), "an allowed file no longer needs it: take it off"
