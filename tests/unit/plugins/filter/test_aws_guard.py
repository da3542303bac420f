"""The filters mocha.cloud.aws_gpu_limits, ssh_cidr and ec2_tag_vars (plugins/filter/aws_guard.py): registered, errors
as AnsibleFilterError, and one warning per refused EC2 host."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter import aws_guard as guard_filters

GOOD_TAGS = {"mocha-cloud:project": "mocha-cloud", "mocha-cloud:run-id": "exp1", "mocha-cloud:ansible-user": "ubuntu",
             "mocha-cloud:expires-at": "2026-11-30T12:00:00Z", "mocha-cloud:bastion": "ubuntu@bastion.example.org:2222"}


def test_filters_are_registered_and_wrap_errors():
    filters = guard_filters.FilterModule().filters()
    assert set(filters) == {"aws_gpu_limits", "ssh_cidr", "ec2_tag_vars", "name_problems"}
    assert filters["ssh_cidr"]("::/00") == "::/0"
    with pytest.raises(AnsibleFilterError, match="host bits set"):
        filters["ssh_cidr"]("203.0.113.7/24")
    with pytest.raises(AnsibleFilterError, match="needs a dict"):
        filters["aws_gpu_limits"](["max_hours"])
    assert filters["aws_gpu_limits"]({"max_hours": "inf"}) == ["aws_gpu_instance_max_hours must be a finite number, got 'inf'"]
    assert filters["name_problems"]({"x_run_id": "", "x_project": "p"}, optional="x_run_id") == []
    with pytest.raises(AnsibleFilterError, match="needs a dict"):
        filters["name_problems"](["x"])


def test_ec2_tag_vars_filter_warns_once_per_message(monkeypatch):
    warned = []
    monkeypatch.setattr(guard_filters.display, "warning", warned.append)
    bad = dict(GOOD_TAGS, **{"mocha-cloud:bastion": "-oLocalCommand=id"})
    assert guard_filters.ec2_tag_vars(bad, "i-3")["ssh_common_args"] == ""
    assert warned == ["EC2 instance i-3 left out of gpu_hosts: its tag mocha-cloud:bastion '-oLocalCommand=id' is not [user@]host[:port]"]
    guard_filters.ec2_tag_vars(GOOD_TAGS, "i-4")
    assert len(warned) == 1
