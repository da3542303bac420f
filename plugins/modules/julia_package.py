#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: julia_package
short_description: Manage a Julia package with Julia's own package manager
version_added: "0.1.0"
description:
  - Installs, updates, removes, builds and tests one Julia package through C(Pkg).
  - Works with both generations of Julia's package manager, picked from C(julia --version).
    Julia 0.4 to 0.6 use the old manager (C(Pkg.add), C(Pkg.installed), C(Pkg.dir), C(Pkg.pin),
    C(Pkg.clone), C(Pkg.checkout), C(Pkg.rm), C(Pkg.test)). Julia 0.7 and 1.x use C(using Pkg) with
    C(PackageSpec) and C(Pkg.dependencies), or C(Pkg.installed) before Julia 1.4.
  - Reads the installed state first and changes only what differs. Supports check mode.
  - User values are validated, then passed to Julia only as escaped string literals. Julia answers
    with one line C(MOCHA_CLOUD_JSON {...}).
  - On the old package manager, a package installed from O(url) at O(rev) is left on a branch
    (the branch O(rev), or C(pinned.<rev>) for tags and commits), and a package installed at
    O(version) is pinned with C(Pkg.pin), which also puts it on a branch, never a detached HEAD.
  - With O(program_file), a change (and O(test)) is not run but written, with its environment, for a supervisor to run
    detached (the METADATA clone of C(Pkg.init), adding packages with their builds, and C(Pkg.test) take minutes and
    print nothing for long stretches); the module then returns RV(pending) and the command, and a second call reads
    the state the run left.
  - Julia's processes get the host's CA bundle in C(SSL_CERT_FILE) (unless O(environment) names one), never
    C(SSL_CERT_DIR), since Julia 0.6 prefers the directory and aborts at start when it holds a dangling symlink
    (JuliaLang/julia#20439); an inherited or given C(SSL_CERT_DIR) is dropped.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  name:
    description:
      - Package name without the C(.jl) suffix, for example C(Mocha).
      - Required unless O(state=initialized), which takes none.
    type: str
  state:
    description:
      - C(present) installs the package when missing (or at the wrong version or revision).
      - C(latest) also runs C(Pkg.update) for it; cannot be combined with O(version).
      - C(absent) removes it with C(Pkg.rm).
      - C(initialized) makes the package directory ready without installing anything; on the old package manager that
        is C(Pkg.init()), which clones METADATA.jl (12-25 minutes reported, METADATA.jl#5128). Nothing to do on 0.7+.
    type: str
    choices: [present, absent, latest, initialized]
    default: present
  version:
    description:
      - Registered version to install and pin, for example C(0.3.1) or C(v0.3.1).
      - Mutually exclusive with O(url).
    type: str
  url:
    description:
      - Git URL of an unregistered package (or a fork), installed with C(Pkg.clone) on the old
        package manager or C(Pkg.add(PackageSpec(url=..., rev=...))) on the new one.
      - Requires O(rev), so that the install is pinned.
    type: str
  rev:
    description:
      - Git branch, tag or commit to check out. Required with O(url). Without O(url), on the old
        package manager, a branch to C(Pkg.checkout) after adding a registered package.
    type: str
  test:
    description:
      - Run C(Pkg.test) for the package and report RV(test_passed) and RV(test_output_tail).
        A failing test run fails the task. Skipped in check mode.
    type: bool
    default: false
  build:
    description: Run C(Pkg.build) after the package was installed or changed by this task.
    type: bool
    default: false
  julia:
    description: The julia executable, an absolute path or a name looked up on PATH.
    type: str
    default: julia
  environment:
    description:
      - Extra environment for every julia run, for example C(JULIA_PKGDIR) (Julia 0.6) or
        C(JULIA_DEPOT_PATH) (0.7 and later), C(MOCHA_USE_NATIVE_EXT) for tests.
    type: dict
    default: {}
  program_file:
    description:
      - Instead of running the change (and O(test)), write the Julia program to this file and its environment to
        C(<program_file>.env) (a shell file), and return RV(pending) with RV(argv), for a supervisor to run it detached
        (C(mocha.cloud.common), entry point C(job)) and poll it; a second call without O(program_file) reads the
        result. Nothing is written when there is nothing to do, or in check mode.
    type: path
attributes:
  check_mode:
    support: full
    description: Reads the installed state and reports what would change; runs no C(Pkg) call that changes anything,
      and skips O(test).
  diff_mode:
    support: none
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
notes:
  - Needs git on the target for reading checkouts and for url installs on the old package manager.
  - The generated code for the old package manager is written for Julia 0.6 (C(readstring), C(take!));
    Julia 0.4 and 0.5 are recognised but not expected to work.
  - With O(state=latest) in check mode the module cannot tell whether an update exists and reports
    no change for an installed package.
seealso:
  - module: mocha.cloud.julia_package_info
"""

EXAMPLES = r"""
- name: Mocha v0.3.1 from the registry (Julia 0.6)
  mocha.cloud.julia_package:
    name: Mocha
    version: 0.3.1
    julia: /usr/local/bin/julia
    environment:
      JULIA_PKGDIR: /opt/mocha/julia-depot

- name: Mocha from git at a tag, then run its tests on the CPU backend
  mocha.cloud.julia_package:
    name: Mocha
    url: https://github.com/pluskid/Mocha.jl.git
    rev: v0.3.1
    test: true
    environment:
      MOCHA_USE_NATIVE_EXT: "true"
  register: mocha_pkg

- name: Remove a package
  mocha.cloud.julia_package:
    name: JLD
    state: absent

- name: Write Pkg.init() (a METADATA.jl clone) for a supervisor to run detached, when it is needed
  mocha.cloud.julia_package:
    state: initialized
    julia: /usr/local/bin/julia
    environment:
      JULIA_PKGDIR: /opt/mocha/julia-depot
    program_file: /opt/mocha/julia-depot/.mocha-cloud-jobs/init/program.jl
  register: pkg_init
"""

RETURN = r"""
version:
  description: Installed version after the task (empty when absent).
  returned: always
  type: str
  sample: 0.3.1
path:
  description: Package directory after the task (empty when absent).
  returned: always
  type: str
  sample: /opt/mocha/julia-depot/v0.6/Mocha
branch:
  description: Git branch the package checkout sits on (empty for a detached HEAD or no checkout).
  returned: always
  type: str
  sample: pinned.v0.3.1
head:
  description: Commit of the package checkout, when it is a git checkout.
  returned: always
  type: str
julia_version:
  description: Version printed by C(julia --version).
  returned: always
  type: str
  sample: 0.6.4
pkg_generation:
  description: C(legacy) (Julia 0.4 to 0.6) or C(pkg3) (0.7 and later).
  returned: always
  type: str
  sample: legacy
action:
  description: What was (or in check mode would be) done, one of none, init, add, reinstall, checkout, update, rm.
  returned: always
  type: str
  sample: add
test_passed:
  description: Whether C(Pkg.test) passed; null when O(test) is false or in check mode.
  returned: always
  type: bool
test_output_tail:
  description: The last 40 lines of the test run's output.
  returned: when O(test=true) and not in check mode, without O(program_file)
  type: str
pending:
  description: With O(program_file), whether a program was written for a supervisor to run (something to do).
  returned: always
  type: bool
argv:
  description: With RV(pending), the command that runs the program.
  returned: when RV(pending)
  type: list
  elements: str
  sample: [/usr/local/bin/julia, --startup-file=no, --color=no, /opt/mocha/julia-depot/.mocha-cloud-jobs/add-Mocha/program.jl]
env_file:
  description: With RV(pending), the shell file of the program's environment, for the supervisor to source.
  returned: when RV(pending)
  type: str
"""

import os  # noqa: E402 - validate-modules wants imports after RETURN

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 - as above
from ansible_collections.mocha.cloud.plugins.module_utils import julia_pkg as jp  # noqa: E402 - as above
from ansible_collections.mocha.cloud.plugins.module_utils.julia_runtime import UNSET  # noqa: E402 - as above


def write_program(module, program_file, code, environment):
    """Write the program and its environment file (0644, directory 0755); return [program_file, env_file]."""
    env_file = program_file + ".env"
    try:
        os.makedirs(os.path.dirname(program_file) or ".", mode=0o755, exist_ok=True)
        for path, text in ((program_file, code), (env_file, jp.env_file_text(environment, unset=UNSET))):
            with open(path + ".tmp", "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(path + ".tmp", 0o644)
            os.replace(path + ".tmp", path)
    except (OSError, jp.JuliaPkgError) as exc:
        module.fail_json(msg=f"could not write the Julia program {program_file}: {exc}")
    return [program_file, env_file]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent", "latest", "initialized"]),
            version=dict(type="str"),
            url=dict(type="str"),
            rev=dict(type="str"),
            test=dict(type="bool", default=False),
            build=dict(type="bool", default=False),
            julia=dict(type="str", default="julia"),
            environment=dict(type="dict", default={}),
            program_file=dict(type="path"),
        ),
        mutually_exclusive=[("version", "url")],
        required_by={"url": "rev"},
        required_if=[("state", "present", ["name"]), ("state", "absent", ["name"]), ("state", "latest", ["name"])],
        supports_check_mode=True,
    )
    p = module.params
    name, state, version, url, rev = p["name"], p["state"], p["version"], p["url"], p["rev"]

    # Validate everything before anything runs.
    if state == "initialized" and (name or version or url or rev or p["test"] or p["build"]):
        module.fail_json(msg="state=initialized takes no name, version, url, rev, test or build")
    try:
        if name is not None:
            jp.validate_name(name)
        if version:
            version = jp.normalize_version(version)
        if url:
            jp.validate_url(url)
        if rev:
            jp.validate_rev(rev)
    except jp.JuliaPkgError as exc:
        module.fail_json(msg=str(exc))
    if state == "latest" and version:
        module.fail_json(msg="version cannot be combined with state=latest; use state=present to pin a version")
    if state == "absent" and (version or url or rev or p["test"] or p["build"]):
        module.fail_json(msg="state=absent takes no version, url, rev, test or build")
    if version and rev:
        module.fail_json(msg="version and rev cannot be combined: version pins a registered release, rev a git revision")

    runner = jp.JuliaRunner(module, jp.resolve_julia(module, p["julia"]), p["environment"])
    julia_version, generation = runner.version()

    names = [name] if name else []
    before = runner.program(generation, [], names, rev or "", what="reading the installed packages")
    current = jp.package_state(before, name) if name else None
    if state == "initialized":
        action = "none" if jp.is_initialized(before) else "init"
    else:
        action = jp.plan(state, current, version=version, url=url, rev=rev, generation=generation)

    result = dict(
        changed=action != "none", action=action, julia_version=julia_version, pkg_generation=generation,
        test_passed=None, pending=False,
    )

    statements = []
    if action == "init":
        statements = jp.init_statements(generation)
    elif action == "rm":
        statements = jp.rm_statements(generation, name)
    elif action == "add":
        statements = jp.add_statements(generation, name, version=version, url=url, rev=rev)
    elif action == "reinstall":
        statements = jp.rm_statements(generation, name) + jp.add_statements(generation, name, url=url, rev=rev)
    elif action == "checkout":
        if generation == jp.LEGACY and url:
            statements = [f"_mc_checkout_rev({jp.julia_str(name)}, {jp.julia_str(rev)})"]
        elif generation == jp.LEGACY:
            statements = [f"Pkg.checkout({jp.julia_str(name)}, {jp.julia_str(rev)})"]
        else:
            statements = jp.add_statements(generation, name, url=url, rev=rev)
    elif action == "update":
        statements = jp.update_statements(generation, name)

    if p["build"] and statements and state != "initialized":
        statements += jp.build_statements(generation, name)
    if p["program_file"] and not module.check_mode and (statements or p["test"]):
        tests = jp.test_statements(generation, name) if p["test"] else []
        code = jp.build_program(generation, statements + tests, names, rev or "")
        argv = write_program(module, p["program_file"], code, runner.env)
        current = current or {}
        result.update(pending=True, argv=[runner.julia] + jp.version_options(None) + argv[:1], env_file=argv[1],
                      version=current.get("version", ""), path=current.get("path", ""), branch=current.get("branch", ""),
                      head=current.get("head", ""))
        module.exit_json(**result)

    after = current
    if module.check_mode:
        if action == "update":
            result["changed"] = False
            result["msg"] = f"check mode cannot tell whether {name} has an update"
        after = None if action == "rm" else current
    elif statements:
        report = runner.program(generation, statements, names, rev or "", what=f"{action} {name or 'the package directory'}")
        after = jp.package_state(report, name) if name else None
        if action == "update":
            result["changed"] = (after or {}).get("version") != (current or {}).get("version") or \
                (after or {}).get("head") != (current or {}).get("head")
        if state == "initialized" and not jp.is_initialized(report):
            module.fail_json(msg="Pkg.init() finished but the package directory is still not initialized", **result)
        if state in ("present", "latest") and after is None:
            module.fail_json(msg=f"{action} of {name} finished but Julia does not list the package as installed",
                             **result)
        if state == "absent" and after is not None:
            module.fail_json(msg=f"Pkg.rm({name}) finished but the package is still installed", **result)

    after = after or {}
    result.update(
        version=after.get("version", ""), path=after.get("path", ""),
        branch=after.get("branch", ""), head=after.get("head", ""),
    )

    if p["test"] and not module.check_mode:
        code = jp.build_program(generation, jp.test_statements(generation, name), report=False)
        rc, out, err = runner.run(jp.version_options(None) + ["-e", code])
        result["test_passed"] = rc == 0
        result["test_output_tail"] = jp.output_tail((out or "") + ("\n" + err if err else ""))
        if rc != 0:
            module.fail_json(msg=f"Pkg.test({name}) failed (rc={rc}); see test_output_tail", rc=rc, **result)

    module.exit_json(**result)


if __name__ == "__main__":
    main()
