# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of mocha.cloud.lscpu_facts: one shell round trip, parsed here.

A Python module pays interpreter start-up plus AnsiballZ importing ansible.module_utils.basic on
every call (as long as ansible.builtin.ping); lscpu itself takes ~10 ms. So this action runs
`lscpu -J` (or plain `lscpu` on util-linux < 2.30) and `cat /proc/meminfo` in one POSIX shell
command and parses the output on the controller with the same pure functions the module uses.
Output it does not recognise (no POSIX shell, odd markers) falls back to running the module.
"""

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mocha.cloud.plugins.module_utils.lscpu import (
    LscpuParseError,
    add_build_facts,
    parse_lscpu_json,
    parse_lscpu_text,
    parse_meminfo,
)

MARK = "@@mocha-lscpu@@"
SCRIPT = (
    "LC_ALL=C; LANG=C; export LC_ALL LANG; "
    f"echo '{MARK}begin'; "
    f"if ! command -v lscpu >/dev/null 2>&1; then echo '{MARK}missing'; "
    f"elif out=$(lscpu -J 2>/dev/null) && [ -n \"$out\" ]; then echo '{MARK}json'; printf '%s\\n' \"$out\"; "
    f"else echo '{MARK}text'; lscpu 2>&1; echo \"{MARK}rc=$?\"; fi; "
    f"echo '{MARK}meminfo'; cat /proc/meminfo 2>/dev/null; echo '{MARK}end'"
)
MISSING = ("lscpu was not found on the target: install the util-linux package "
           "(apt-get install util-linux, dnf install util-linux or zypper install util-linux)")
ARGUMENT_SPEC = {
    "memory_per_job_mb": {"type": "int", "default": 1024},
    "memory_available_mb": {"type": "int"},
}


def split_sections(stdout):
    """Script output -> {section: text}; None when the markers are not all there."""
    if f"{MARK}begin" not in stdout or f"{MARK}end" not in stdout:
        return None
    sections, name, lines = {}, None, []
    for line in stdout.split(f"{MARK}begin", 1)[1].splitlines():
        if line.startswith(MARK):
            if name is not None:
                sections[name] = "\n".join(lines) + "\n"
            name, lines = line[len(MARK):], []
            if name == "end":
                break
        else:
            lines.append(line)
    return sections


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        per_job, available = args["memory_per_job_mb"], args["memory_available_mb"]
        if per_job < 1:
            raise AnsibleActionFail(f"memory_per_job_mb must be a positive number of MiB, got {per_job}")
        if available is not None and available < 0:
            raise AnsibleActionFail(f"memory_available_mb must not be negative, got {available}")

        res = self._low_level_execute_command(SCRIPT)
        sections = split_sections(res.get("stdout", "")) if res.get("rc") == 0 else None
        if not sections or "meminfo" not in sections:
            # No POSIX shell or an unexpected answer: let the Python module do it.
            result.update(self._execute_module(module_name="mocha.cloud.lscpu_facts", module_args=args,
                                               task_vars=task_vars))
            return result
        if "missing" in sections:
            raise AnsibleActionFail(MISSING)
        try:
            if "json" in sections:
                try:
                    facts, source = parse_lscpu_json(sections["json"]), "json"
                except LscpuParseError as exc:
                    result.setdefault("warnings", []).append(f"could not read lscpu -J output ({exc}); using the module")
                    result.update(self._execute_module(module_name="mocha.cloud.lscpu_facts", module_args=args,
                                                       task_vars=task_vars))
                    return result
            else:
                text = sections.get("text", "")
                rc = next((k[3:] for k in sections if k.startswith("rc=")), "")
                if rc != "0":
                    raise AnsibleActionFail(f"lscpu failed with rc={rc or '?'}: {text.strip()}")
                facts, source = parse_lscpu_text(text), "text"
        except LscpuParseError as exc:
            raise AnsibleActionFail(f"cannot parse the output of lscpu: {exc}") from exc
        facts["source"] = source
        add_build_facts(facts, parse_meminfo(sections["meminfo"]), per_job, available)
        result.update(changed=False, ansible_facts={"lscpu": facts})
        return result
