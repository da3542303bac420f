"""The one harness of the module tests (community.general's tests/unit/plugins/modules/utils.py pattern).

- ``run_module(main, args, check_mode)`` sets the module arguments, runs the module's ``main()`` in this process and
  returns what it handed to ``exit_json`` or ``fail_json`` (``failed: true`` added by the latter), encoded and decoded
  with the module's own JSON encoder, so a test sees the result as the controller would. Warnings the module gave
  come back under ``warnings``, as Ansible reports them. A ``main()`` that returns without either fails the test.
- ``FakeHost`` stands in for the host's commands: which binaries ``get_bin_path`` finds, and the answer
  ``(rc, stdout, stderr)`` of each exact argv ``run_command`` may run. Every call is recorded; a command without
  an answer fails the test, and so does an ``environ_update`` other than the one the host expects.
"""

import json
import stat
from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19+, as meta/runtime.yml requires


class AnsibleExitJson(Exception):
    """main() called exit_json; args[0] is the result."""


class AnsibleFailJson(Exception):
    """main() called fail_json; args[0] is the result."""


def _exit_json(module, **kwargs):
    raise AnsibleExitJson(json.loads(module.jsonify(kwargs)))


def _fail_json(module, msg, **kwargs):
    kwargs.update(failed=True, msg=msg)
    raise AnsibleFailJson(json.loads(module.jsonify(kwargs)))


def run_module(main, args=None, check_mode=False):
    """Run a module's ``main()`` with ``args`` (check mode on request); return its result."""
    args = dict(args or {})
    if check_mode:
        args["_ansible_check_mode"] = True
    warnings = []
    with patch_module_args(args), \
            mock.patch.object(basic.AnsibleModule, "exit_json", _exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", _fail_json), \
            mock.patch.object(basic.AnsibleModule, "warn", lambda _module, msg: warnings.append(msg)):
        try:
            main()
        except (AnsibleExitJson, AnsibleFailJson) as done:
            result = done.args[0]
        else:
            raise AssertionError("main() returned without calling exit_json or fail_json")
    if warnings:
        result["warnings"] = warnings
    return result


class FakeHost:
    """The commands of the host a module runs on: binaries found by name, and answers by exact argv."""

    def __init__(self, monkeypatch, tmp_path=None, bins=None, environ=None):
        self.tmp = tmp_path
        self.bins = dict(bins or {})
        self.expected_environ = environ
        self.answers = {}
        self.calls = []
        self.environ = []
        monkeypatch.setattr(basic.AnsibleModule, "run_command", self._run_command)
        host = self

        def get_bin_path(module, arg, required=False, opt_dirs=None):
            path = host.bins.get(arg)
            if path is None and required:  # as AnsibleModule.get_bin_path does
                module.fail_json(msg=f'Failed to find required executable "{arg}" on the fake host')
            return path

        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)

    def answer(self, argv, rc=0, out="", err=""):
        """What ``argv`` answers when the module runs it."""
        self.answers[tuple(argv)] = (rc, out, err)

    def file(self, rel, text, executable=False):
        """A file under the scratch tree (tmp_path); its absolute path."""
        path = self.tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if executable:
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return str(path)

    def _run_command(self, args, environ_update=None, **_kw):
        self.calls.append(list(args))
        self.environ.append(environ_update)
        if self.expected_environ is not None:
            assert environ_update == self.expected_environ, f"{args!r} run with environ_update={environ_update!r}"
        assert tuple(args) in self.answers, f"unexpected command {args!r}"
        return self.answers[tuple(args)]
