"""The fake AWS's DeleteLaunchTemplateVersions (tests/integration/moto_launcher.py adds it: moto 5.x does not have it),
checked against what AWS documents: non-default versions go, the default one and unknown ones are refused with AWS's
error codes, and version numbers are never reused. amazon.aws.ec2_launch_template calls it when it deletes a template
with more than one version (teardown of a spot run that was provisioned again)."""


def test_delete_launch_template_versions_as_aws_documents(aws):
    ec2 = aws.client("ec2")
    tid = ec2.create_launch_template(LaunchTemplateName="lt-test", LaunchTemplateData={"InstanceType": "g4dn.xlarge"})[
        "LaunchTemplate"]["LaunchTemplateId"]
    for itype in ("g5.xlarge", "g6.xlarge"):
        ec2.create_launch_template_version(LaunchTemplateId=tid, LaunchTemplateData={"InstanceType": itype})
    ec2.modify_launch_template(LaunchTemplateId=tid, DefaultVersion="3")

    out = ec2.delete_launch_template_versions(LaunchTemplateId=tid, Versions=["1", "3", "9"])
    assert [v["VersionNumber"] for v in out["SuccessfullyDeletedLaunchTemplateVersions"]] == [1]
    assert [(v["VersionNumber"], v["ResponseError"]["Code"]) for v in out["UnsuccessfullyDeletedLaunchTemplateVersions"]] == [
        (3, "launchTemplateVersionDefaultNotDeletable"), (9, "launchTemplateVersionDoesNotExist")]

    left = ec2.describe_launch_template_versions(LaunchTemplateId=tid)["LaunchTemplateVersions"]
    assert sorted(v["VersionNumber"] for v in left) == [2, 3]
    default = ec2.describe_launch_template_versions(LaunchTemplateId=tid, Versions=["$Default"])["LaunchTemplateVersions"]
    assert [(v["VersionNumber"], v["LaunchTemplateData"]["InstanceType"]) for v in default] == [(3, "g6.xlarge")]
    # A new version takes the next number ever given, not a freed one.
    new = ec2.create_launch_template_version(LaunchTemplateId=tid, LaunchTemplateData={"InstanceType": "g4dn.2xlarge"})
    assert new["LaunchTemplateVersion"]["VersionNumber"] == 4

    ec2.delete_launch_template(LaunchTemplateId=tid)
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []
