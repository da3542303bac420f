"""The lscpu_facts action plugin: one shell round trip, parsed on the controller (shell mocked)."""

from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from ansible_collections.mocha.cloud.plugins.action import lscpu_facts as action
from conftest import capture

M = action.MARK


def shell_output(kind, body, rc=0):
    out = f"{M}begin\n{M}{kind}\n{body}"
    if kind == "text":
        out += f"{M}rc={rc}\n"
    return out + f"{M}meminfo\n{capture('meminfo.txt')}{M}end\n"


def make_action(args, stdout, rc=0):
    task = Task()
    task.args = args
    task.check_mode = False
    plugin = action.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                                 shared_loader_obj=None)
    plugin._low_level_execute_command = mock.MagicMock(return_value={"rc": rc, "stdout": stdout, "stderr": ""})
    plugin._execute_module = mock.MagicMock(return_value={"ansible_facts": {"lscpu": {"source": "module"}}})
    return plugin


def run(plugin):
    with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}):
        return plugin.run(task_vars={})


def test_json_path_one_shell_command():
    plugin = make_action({}, shell_output("json", capture("lscpu-json.txt")))
    result = run(plugin)
    plugin._low_level_execute_command.assert_called_once_with(action.SCRIPT)
    assert "LC_ALL=C" in action.SCRIPT and "lscpu -J" in action.SCRIPT and "/proc/meminfo" in action.SCRIPT
    plugin._execute_module.assert_not_called()
    facts = result["ansible_facts"]["lscpu"]
    assert (facts["source"], facts["cpus"], facts["model_names"]) == ("json", 16, ["Intel(R) Xeon(R) Processor"])
    assert (facts["memory_available_mb"], facts["memory_total_mb"], facts["build_jobs"]) == (128397, 128887, 16)
    assert result["changed"] is False


def test_text_path_gives_the_same_facts():
    from_json = run(make_action({}, shell_output("json", capture("lscpu-json.txt"))))["ansible_facts"]["lscpu"]
    from_text = run(make_action({}, shell_output("text", capture("lscpu.txt"))))["ansible_facts"]["lscpu"]
    assert from_json.pop("source") == "json" and from_text.pop("source") == "text"
    assert from_json == from_text


def test_memory_options():
    result = run(make_action({"memory_per_job_mb": 4096, "memory_available_mb": 20000},
                             shell_output("json", capture("lscpu-json.txt"))))
    assert result["ansible_facts"]["lscpu"]["build_jobs"] == 4


def test_missing_lscpu_names_util_linux():
    out = f"{M}begin\n{M}missing\n{M}meminfo\n{M}end\n"
    with pytest.raises(AnsibleActionFail, match="util-linux"):
        run(make_action({}, out))


def test_unparsable_text_quotes_the_line():
    with pytest.raises(AnsibleActionFail, match="Segmentation fault"):
        run(make_action({}, shell_output("text", "CPU(s): 4\nSegmentation fault\n")))


def test_failing_lscpu_reports_rc():
    with pytest.raises(AnsibleActionFail, match="rc=1"):
        run(make_action({}, shell_output("text", "lscpu: failed to read /sys\n", rc=1)))


@pytest.mark.parametrize("stdout, rc", [("'echo' is not recognized\n", 0), ("", 127)])
def test_unexpected_shell_falls_back_to_the_module(stdout, rc):
    plugin = make_action({"memory_per_job_mb": 2048}, stdout, rc=rc)
    result = run(plugin)
    plugin._execute_module.assert_called_once()
    assert plugin._execute_module.call_args.kwargs["module_name"] == "mocha.cloud.lscpu_facts"
    assert plugin._execute_module.call_args.kwargs["module_args"] == {"memory_per_job_mb": 2048,
                                                                      "memory_available_mb": None}
    assert result["ansible_facts"]["lscpu"]["source"] == "module"


def test_bad_option_fails_before_running():
    plugin = make_action({"memory_per_job_mb": 0}, "")
    with pytest.raises(AnsibleActionFail, match="positive"):
        run(plugin)
    plugin._low_level_execute_command.assert_not_called()
