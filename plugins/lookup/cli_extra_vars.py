# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: cli_extra_vars
short_description: The -e arguments and vault options this ansible-playbook was started with, for a child to get the same
version_added: "0.1.0"
description:
  - Returns the arguments a child C(ansible-playbook) needs to see the same extra vars as the running one, in order
    (arguments given after them win, as on any command line), as the recover watch starts each leg
    (C(playbooks/tasks/recover_watch.yml)).
  - An C(@file) argument is passed on as C(--extra-vars=@file) with the file's path made absolute.
  - An inline one (C(name=value) text, JSON or YAML text) is never put on the child's command line, where any local user
    could read it (it may hold a secret) for as long as the child runs. It is returned parsed, as the running
    C(ansible-playbook) read it, with the name of the file to write it to (O(inline_prefix)C(-<n>.json)); the child gets
    C(--extra-vars=@) that file. Writing the file (mode 0600) and removing it afterwards is the caller's.
  - The vault options follow (C(--vault-id) and C(--vault-password-file), paths made absolute), so a child decrypts what
    the parent decrypts. A vault password that was asked for (C(--ask-vault-pass), or a C(--vault-id) from C(prompt))
    cannot be asked again by a child that runs without a terminal, so the lookup fails, saying to give a password file.
options:
  inline_prefix:
    description: The path the files of the inline arguments start with (C(<prefix>-<n>.json), n counting all arguments from 0).
    type: str
    required: true
author:
  - mocha-cloud contributors (@mocha-cloud)
"""

EXAMPLES = r"""
- name: The -e arguments of this run, for one child
  ansible.builtin.set_fact:
    child_args: "{{ query('mocha.cloud.cli_extra_vars', inline_prefix=playbook_dir ~ '/child-vars') }}"

- name: Write the inline ones where only the user can read them
  ansible.builtin.copy:
    content: "{{ item.vars | to_json }}"
    dest: "{{ item.file }}"
    mode: "0600"
  loop: "{{ child_args | selectattr('file', 'defined') }}"
  no_log: true

- name: Start the same journey again for one run
  ansible.builtin.command:
    argv: "{{ ['ansible-playbook', 'site.yml'] + child_args | map(attribute='arg') + ['-e', 'aws_gpu_instance_run_id=exp1'] }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description:
    - One entry per argument, in order; empty when there were none. C(arg) is the argument for the child; an inline -e
      has C(file) (where to write it) and C(vars) (its variables) too.
  type: list
  elements: dict
"""

import os  # noqa: E402

from ansible import context  # noqa: E402
from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.parsing.splitter import parse_kv  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

ASKED = ("--ask-vault-pass was given: a leg runs as a child ansible-playbook without a terminal and cannot ask for the "
         "vault password again. Give it as a file instead (--vault-password-file FILE, or --vault-id LABEL@FILE; a script "
         "that prints it works too)")


def absolute(argument):
    """An ``@file`` argument with its path made absolute (a child may run elsewhere); others unchanged."""
    text = str(argument)
    if text.startswith("@") and len(text) > 1:
        return "@" + os.path.abspath(os.path.expanduser(text[1:]))
    return text


def vault_arguments(args):
    """The vault options of CLIARGS ARGS for a child; AnsibleLookupError for a password that was asked for."""
    if args.get("ask_vault_pass"):
        raise AnsibleLookupError(ASKED)
    out = []
    for vault_id in args.get("vault_ids") or ():
        label, _sep, source = str(vault_id).rpartition("@")
        if source == "prompt" or not source:
            raise AnsibleLookupError(ASKED.replace("--ask-vault-pass was given", f"--vault-id {vault_id} asks for its password"))
        path = os.path.abspath(os.path.expanduser(source))
        out.append("--vault-id=" + (f"{label}@{path}" if label else path))
    out.extend("--vault-password-file=" + os.path.abspath(os.path.expanduser(str(f))) for f in args.get("vault_password_files") or ())
    return out


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        prefix = kwargs.get("inline_prefix")
        if not prefix or not isinstance(prefix, str):
            raise AnsibleLookupError("cli_extra_vars needs inline_prefix: the path the files of inline -e arguments start with")
        out = []
        for n, arg in enumerate(context.CLIARGS.get("extra_vars") or ()):
            text = str(arg)
            if not text:
                continue
            if text.startswith("@"):
                out.append({"arg": "--extra-vars=" + absolute(text)})
                continue
            data = self._loader.load(text) if text[0] in "[{" else parse_kv(text)
            if not isinstance(data, dict):
                raise AnsibleLookupError(f"an -e argument is not a mapping of variables ({type(data).__name__}): give name=value, JSON or YAML")
            path = f"{prefix}-{n}.json"
            out.append({"arg": "--extra-vars=@" + path, "file": path, "vars": data})
        out.extend({"arg": a} for a in vault_arguments(context.CLIARGS))
        return out
