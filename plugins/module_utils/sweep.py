# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hyperparameter sweeps: several variants of Mocha's CIFAR-10 run trained side by side, one per host of gpu_hosts.

Pure functions (values in, values or problems out), shared by the filters ``mocha.cloud.sweep_plan``,
``mocha.cloud.sweep_assign`` and ``mocha.cloud.sweep_comparison``:

- ``plan``: the user's ``cifar10_sweep`` checked once, before anything is created (names unique and safe for paths,
  unit names and tags; values in range; known keys only), each variant completed from the base settings, and the
  fleet sized: one host per variant, capped by ``hosts``, by the number of instances one provisioning may launch
  (AWS) or by the inventory's hosts (on-prem). Variants beyond the fleet queue round-robin: host i runs variants
  i, i+H, i+2H, ... one after another.
- ``assign``: the same round-robin over the hosts the inventory has at train time, in a stable order, so a re-run
  gives every variant the host (and so the run directory and snapshots) it had.
- ``comparison``: the variants' results (or failures) as one table, best final accuracy first, and the curves.

Each variant is an ordinary cifar10 run: run id ``<sweep>--<variant>``, its own run directory on its host, results
under ``<artifacts>/<sweep>/<variant>/``. Names never hold ``--``, so the run id says which sweep and variant it is
(sweep ``a`` variant ``b-c`` is ``a--b-c``, sweep ``a-b`` variant ``c`` is ``a-b--c``): two sweeps never share a run id,
its state on the controller or its systemd unit. The run id passes the one name rule of run ids (names.py).
"""

import math
import re

from ansible_collections.mocha.cloud.plugins.module_utils.names import LIMITS, name_problem

# Sweep and variant names end up in paths, systemd unit names, run ids and tag values: lower case, digits, single
# hyphens (``--`` joins the two in a run id), at most 32 characters.
NAME_RE = re.compile(r"(?=.{1,32}\Z)[a-z0-9]+(?:-[a-z0-9]+)*")
RUN_ID_JOIN = "--"
NAME_RULE = ("1-32 lower-case letters, digits or single hyphens, starting and ending with a letter or digit (no '--', "
             "which joins the sweep and the variant in a run id)")
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SWEEP_KEYS = ("name", "variants", "hosts", "max_cost_usd")
VARIANT_KEYS = ("name", "lr", "momentum", "weight_decay", "batch_size", "max_iter", "backend", "environment")
BACKENDS = ("auto", "gpu", "cpu")
MAX_VARIANTS = 32
# (low, high, low inclusive, high inclusive, integer, what it is)
RANGES = {
    "lr": (0.0, 1.0, False, True, False, "the first stage's learning rate"),
    "momentum": (0.0, 1.0, True, False, False, "SGD momentum"),
    "weight_decay": (0.0, 1.0, True, True, False, "L2 weight decay (Mocha's regu_coef)"),
    "batch_size": (1, 10000, True, True, True, "images per batch"),
    "max_iter": (1, 10_000_000, True, True, True, "SGD iterations"),
}
# The cifar10 role's defaults (roles/cifar10/defaults/main.yml; a unit test keeps them in step): a variant takes
# what it does not set from the settings, and these when the settings do not set them either.
ROLE_DEFAULTS = {
    "lr_stages": [[60000, 0.001], [5000, 0.0001], [5000, 0.00001]],
    "momentum": 0.9,
    "weight_decay": 0.004,
    "batch_size": 100,
    "max_iter": 70000,
}


class SweepError(ValueError):
    """The sweep settings are refused; ``problems`` lists every reason, each saying how to fix it."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _number(value, key, where, problems):
    low, high, low_in, high_in, integer, what = RANGES[key]
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        problems.append(f"{where}: {key} ({what}) must be a number, got {value!r}")
        return None
    try:
        num = float(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: {key} ({what}) must be a number, got {value!r}")
        return None
    if not math.isfinite(num):
        problems.append(f"{where}: {key} ({what}) must be a finite number, got {value!r}")
        return None
    if integer and num != int(num):
        problems.append(f"{where}: {key} ({what}) must be a whole number, got {value!r}")
        return None
    ok = (num >= low if low_in else num > low) and (num <= high if high_in else num < high)
    if not ok:
        span = f"{'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"
        problems.append(f"{where}: {key} ({what}) must be in {span}, got {value!r}")
        return None
    return int(num) if integer else num


def _tidy(x):
    """A float without binary noise (0.001 * 3 -> 0.003), as a person would write it."""
    return float(f"{x:.6g}")


def settings_text(v):
    return (f"lr {v['lr']:g}, momentum {v['momentum']:g}, weight decay {v['weight_decay']:g}, batch {v['batch_size']}, "
            f"{v['max_iter']} iterations, backend {v['backend'] or 'as configured'}")


def _base(base):
    """The settings a variant starts from: the given ones, else the role's defaults."""
    base = dict(base or {})
    out = {k: (base[k] if base.get(k) is not None else v) for k, v in ROLE_DEFAULTS.items()}
    out["backend"] = base.get("backend") or None
    problems = []
    stages = out["lr_stages"]
    if (not isinstance(stages, list) or not stages
            or not all(isinstance(s, (list, tuple)) and len(s) == 2 for s in stages)):
        problems.append(f"cifar10_lr_stages must be a list of [iterations, rate] pairs, got {stages!r}")
    else:
        try:
            out["lr_stages"] = [[int(n), float(r)] for n, r in stages]
        except (TypeError, ValueError):
            problems.append(f"cifar10_lr_stages must hold numbers, got {stages!r}")
        else:
            if out["lr_stages"][0][1] <= 0:
                problems.append(f"cifar10_lr_stages: the first stage's rate must be more than 0, got {stages[0][1]!r}")
    for key in ("momentum", "weight_decay", "batch_size", "max_iter"):
        out[key] = _number(out[key], key, f"the base setting cifar10_{key}", problems)
    if out["backend"] is not None and out["backend"] not in BACKENDS:
        problems.append(f"the base backend must be one of {', '.join(BACKENDS)}, got {out['backend']!r}")
    if problems:
        raise SweepError(problems)
    return out


def _variant(raw, index, base, problems):
    where = f"variant {index + 1}"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping such as {{name: lr-high, lr: 0.01}}, got {raw!r}")
        return None
    name = raw.get("name")
    if isinstance(name, str) and NAME_RE.fullmatch(name):
        where = f"variant {name}"
    else:
        problems.append(f"{where}: name must be {NAME_RULE}; it names a directory, a run id and a systemd unit; got {name!r}")
    unknown = sorted(set(raw) - set(VARIANT_KEYS))
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; a variant may set {', '.join(VARIANT_KEYS)}")
    v = {"name": name}
    v["lr"] = _number(raw["lr"], "lr", where, problems) if raw.get("lr") is not None else base["lr_stages"][0][1]
    for key in ("momentum", "weight_decay", "batch_size", "max_iter"):
        v[key] = _number(raw[key], key, where, problems) if raw.get(key) is not None else base[key]
    backend = raw.get("backend")
    if backend is not None and backend not in BACKENDS:
        problems.append(f"{where}: backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    v["backend"] = backend if backend is not None else base["backend"]
    env = raw.get("environment") or {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and ENV_NAME_RE.fullmatch(k) for k in env) \
            or any(isinstance(x, (dict, list)) or x is None for x in env.values()):
        problems.append(f"{where}: environment must map variable names to values, got {env!r}")
        env = {}
    v["environment"] = {k: str(x) for k, x in env.items()}
    return v


def plan(sweep, base=None, provider="aws", hosts=None):
    """The sweep checked and completed, with its fleet; raises SweepError listing every problem.

    ``sweep``: {name, variants: [{name, lr, momentum, weight_decay, batch_size, max_iter, backend, environment}],
    hosts (at most this many hosts; more variants queue), max_cost_usd}. ``base``: the settings variants start from
    (lr_stages, momentum, weight_decay, batch_size, max_iter, backend; None = the cifar10 role's default).
    ``provider``: aws (instances are launched, one per variant up to the cap) or onprem (``hosts`` lists the
    inventory's gpu_hosts, in order).
    """
    if not isinstance(sweep, dict):
        raise SweepError([f"cifar10_sweep must be a mapping {{name: ..., variants: [...]}}, got {type(sweep).__name__}"])
    problems = []
    base = _base(base)
    unknown = sorted(set(sweep) - set(SWEEP_KEYS))
    if unknown:
        problems.append(f"cifar10_sweep: unknown key(s) {', '.join(map(str, unknown))}; it may set {', '.join(SWEEP_KEYS)}")
    name = sweep.get("name")
    if not (isinstance(name, str) and NAME_RE.fullmatch(name)):
        problems.append(f"cifar10_sweep.name must be {NAME_RULE}; it names the results directory and every run id; got {name!r}")
    raw_variants = sweep.get("variants")
    if not isinstance(raw_variants, list) or not raw_variants:
        problems.append("cifar10_sweep.variants must list at least one variant, e.g. [{name: base}, {name: lr-high, lr: 0.01}]")
        raw_variants = []
    elif len(raw_variants) > MAX_VARIANTS:
        problems.append(f"cifar10_sweep.variants lists {len(raw_variants)} variants; at most {MAX_VARIANTS}")
    variants = [v for v in (_variant(r, i, base, problems) for i, r in enumerate(raw_variants)) if v is not None]
    names = [v["name"] for v in variants if isinstance(v["name"], str)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"cifar10_sweep.variants: names must be unique, {', '.join(dupes)} appear(s) more than once")
    if isinstance(name, str) and NAME_RE.fullmatch(name):
        for n in [n for n in names if NAME_RE.fullmatch(n)]:
            problem = name_problem(run_id(name, n), f"the run id of variant {n}")
            if problem:
                problems.append(f"{problem}: shorten cifar10_sweep.name or the variant's name (together at most "
                                f"{63 - len(RUN_ID_JOIN)} characters)")

    cap = sweep.get("hosts")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        problems.append(f"cifar10_sweep.hosts (at most this many hosts; more variants queue) must be a whole number of 1 "
                        f"or more, got {cap!r}")
        cap = None
    max_cost = sweep.get("max_cost_usd")
    if max_cost is not None:
        try:
            max_cost = float(max_cost)
            if isinstance(sweep.get("max_cost_usd"), bool) or not math.isfinite(max_cost) or max_cost <= 0:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"cifar10_sweep.max_cost_usd must be a number of dollars more than 0, got {sweep.get('max_cost_usd')!r}")
            max_cost = None

    wanted = min(len(variants), cap) if cap else len(variants)
    host_names = []
    if provider == "aws":
        if wanted > LIMITS["count"]:
            problems.append(f"the sweep needs {wanted} instances, one per variant, but at most {LIMITS['count']} are launched "
                            f"at once (aws_gpu_instance_count): set cifar10_sweep.hosts to {LIMITS['count']} or fewer, and "
                            "the other variants queue on them")
        size = wanted
    else:
        host_names = [str(h) for h in (hosts or [])]
        if not host_names:
            problems.append("no host in gpu_hosts to run the sweep on: add hosts to the inventory's gpu_hosts")
        size = min(wanted, len(host_names))
        host_names = host_names[:size]
    if problems:
        raise SweepError(problems)

    for v in variants:
        factor = v["lr"] / base["lr_stages"][0][1]
        v["lr_stages"] = [[n, _tidy(r * factor)] for n, r in base["lr_stages"]]
        v["run_id"] = run_id(name, v["name"])
        v["results_subdir"] = f"{name}/{v['name']}"
        v["settings"] = settings_text(v)
    queue_names = queues([v["name"] for v in variants], size)
    return {
        "name": name,
        "provider": provider,
        "variants": variants,
        "hosts": size,
        "host_cap": cap,
        "max_cost_usd": max_cost,
        "queues": queue_names,
        "queue_runs": [[{"name": n, "max_iter": _by_name(variants, n)["max_iter"], "backend": _by_name(variants, n)["backend"]}
                        for n in q] for q in queue_names],
        "host_names": host_names,
        "lines": plan_lines(name, variants, queue_names, host_names),
    }


def run_id(sweep_name, variant_name):
    """The run id of a sweep's variant: ``<sweep>--<variant>`` (neither name holds ``--``, so no two pairs share one)."""
    return f"{sweep_name}{RUN_ID_JOIN}{variant_name}"


def _by_name(variants, name):
    return next(v for v in variants if v["name"] == name)


def queues(names, size):
    """Round-robin: host i of ``size`` gets names i, i+size, i+2*size, ... in order."""
    size = max(1, min(int(size), len(names))) if names else 0
    return [list(names[i::size]) for i in range(size)]


def plan_lines(name, variants, queue_names, host_names=None):
    out = [f"Sweep {name}: {len(variants)} variant(s) on {len(queue_names)} host(s)"
           + (f", {len(variants) - len(queue_names)} queued" if len(variants) > len(queue_names) else "")]
    for i, q in enumerate(queue_names):
        who = host_names[i] if host_names and i < len(host_names) else f"host {i + 1}"
        out.append(f"  {who}: " + " then ".join(q))
    for v in variants:
        out.append(f"  {v['name']}: {settings_text(v)}")
    return out


def assign(sweep_plan, hosts):
    """The plan's variants over the hosts the inventory has now (already in a stable order), round-robin.

    Uses at most ``sweep_plan['hosts']`` hosts (the planned fleet); more hosts stay idle, fewer make longer queues
    (said in ``warnings``). Returns the plan with ``assignment`` {host: [variant, ...]}, ``host_of`` {variant: host},
    ``used_hosts``, ``idle_hosts`` and ``warnings``.
    """
    hosts = [str(h) for h in (hosts or [])]
    if not hosts:
        raise SweepError(["no host in gpu_hosts to run the sweep on: provision first (site.yml) or add hosts to the "
                          "inventory's gpu_hosts"])
    variants = sweep_plan["variants"]
    size = min(int(sweep_plan.get("hosts") or len(variants)), len(hosts), len(variants))
    used = hosts[:size]
    qs = queues([v["name"] for v in variants], size)
    assignment = {h: [_by_name(variants, n) for n in q] for h, q in zip(used, qs, strict=True)}
    warnings = []
    if size < int(sweep_plan.get("hosts") or 0):
        warnings.append(f"the sweep was planned on {sweep_plan['hosts']} hosts but gpu_hosts has {len(hosts)}: "
                        "the variants queue longer than planned")
    out = dict(sweep_plan)
    out.update({
        "assignment": assignment,
        "host_of": {v["name"]: h for h, vs in assignment.items() for v in vs},
        "used_hosts": used,
        "idle_hosts": hosts[size:],
        "warnings": warnings,
        "lines": plan_lines(sweep_plan["name"], variants, qs, used),
    })
    return out


def _cell(text, limit=300):
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text.replace("|", "\\|")


def _pct(x):
    return f"{x:.2f}%" if x is not None else "n/a"


def _row(v, host, record):
    metrics = (record or {}).get("metrics") or {}
    curve = [[int(i), float(a)] for i, a in metrics.get("accuracy_curve") or []]
    best = max(curve, key=lambda p: (p[1], -p[0])) if curve else None
    status = (record or {}).get("status") or "failed"
    reason = (record or {}).get("reason") or ""
    if record is None:
        reason = f"no result came back from {host or 'its host'} (unreachable, or the play stopped before it ran)"
    elif status == "finished" and not metrics:
        status, reason = "failed", "the run ended but its metrics did not come home"
    elif status == "running":
        reason = reason or "still training: the playbook stopped waiting (cifar10_wait_max_polls); run it again to wait"
    elif status == "finished" and not metrics.get("completed", True):
        status, reason = "failed", f"the run stopped at iteration {metrics.get('iterations')} of {metrics.get('max_iter')} ({metrics.get('state')})"
    return {
        "variant": v["name"],
        "host": host,
        "status": status,
        "reason": reason,
        "settings": v.get("settings") or settings_text(v),
        "lr": v["lr"], "momentum": v["momentum"], "weight_decay": v["weight_decay"], "batch_size": v["batch_size"],
        "max_iter": v["max_iter"], "backend": v["backend"],
        "iterations": metrics.get("iterations"),
        "final_accuracy": metrics.get("final_accuracy"),
        "best_accuracy": best[1] if best else None,
        "best_iteration": best[0] if best else None,
        "seconds_per_200": metrics.get("seconds_per_200_iterations"),
        "wall_time_s": metrics.get("wall_time_s"),
        "cost_usd": metrics.get("estimated_cost_usd"),
        # Where it trained: the launch may have put the fleet's instances in several zones (and, when allowed, types).
        "instance_type": metrics.get("instance_type"),
        "availability_zone": metrics.get("availability_zone"),
        "run_id": v.get("run_id"),
        "results_dir": (record or {}).get("results_dir"),
        "accuracy_curve": curve,
    }


def comparison(assigned, records):
    """Rows for every variant of the sweep, best final accuracy first, failures last, and comparison.md's text.

    ``assigned``: the result of ``assign``. ``records``: one per variant that ran, {variant, host, status
    (finished or failed), reason, metrics (the run's metrics.json, partial for a failure), results_dir}; a variant
    with no record is reported as failed, naming its host.
    """
    by_variant = {}
    for r in records or []:
        if isinstance(r, dict) and r.get("variant"):
            by_variant[r["variant"]] = r
    host_of = assigned.get("host_of") or {}
    rows = [_row(v, by_variant.get(v["name"], {}).get("host") or host_of.get(v["name"]), by_variant.get(v["name"]))
            for v in assigned["variants"]]
    ok = [r for r in rows if r["status"] == "finished"]
    going = [r for r in rows if r["status"] == "running"]
    bad = [r for r in rows if r["status"] not in ("finished", "running")]
    ok.sort(key=lambda r: (r["final_accuracy"] is None, -(r["final_accuracy"] or 0.0), r["variant"]))
    rows = ok + going + bad
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank if r["status"] == "finished" else None
    return {
        "sweep": assigned["name"],
        "rows": rows,
        "finished": [r["variant"] for r in ok],
        "running": [r["variant"] for r in going],
        "failed": [{"variant": r["variant"], "host": r["host"], "reason": r["reason"]} for r in bad],
        "total_cost_usd": round(sum(r["cost_usd"] for r in rows if r["cost_usd"] is not None), 4)
        if any(r["cost_usd"] is not None for r in rows) else None,
        "markdown": markdown(assigned, rows),
    }


def markdown(assigned, rows):
    hosts = len(assigned.get("used_hosts") or []) or assigned.get("hosts")
    n = len(rows)
    failed = [r for r in rows if r["status"] not in ("finished", "running")]
    going = [r for r in rows if r["status"] == "running"]
    out = [f"# Sweep {assigned['name']}: {n} variant(s) on {hosts} host(s)", "",
           "![Test accuracy of every variant against iterations](comparison.png)", "",
           "| rank | variant | settings | final accuracy | best accuracy (iteration) | s per 200 iterations | cost | host | instance |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] == "finished":
            final = _pct(r["final_accuracy"])
        elif r["status"] == "running":
            final = f"running, at iteration {r['iterations'] or 0} of {r['max_iter']}"
        else:
            reached = f" after iteration {r['iterations']} of {r['max_iter']}" if r["iterations"] else ""
            final = f"FAILED{reached}: {_cell(r['reason'], 160)}"
        best = f"{_pct(r['best_accuracy'])} ({r['best_iteration']})" if r["best_accuracy"] is not None else "n/a"
        spi = f"{r['seconds_per_200']:.2f}" if r["seconds_per_200"] is not None else "n/a"
        cost = f"${r['cost_usd']:.4f}" if r["cost_usd"] is not None else "n/a"
        where = " in ".join(_cell(x) for x in (r.get("instance_type"), r.get("availability_zone")) if x) or "n/a"
        out.append(f"| {r['rank'] or '-'} | {_cell(r['variant'])} | {_cell(r['settings'])} | {final} | {best} | {spi} | {cost} "
                   f"| {_cell(r['host'] or 'none')} | {where} |")
    out.append("")
    if failed:
        out.append(f"{len(failed)} of {n} variant(s) failed; the others ran to the end:")
        out.extend(f"- {r['variant']} on {r['host'] or 'no host'}: {_cell(r['reason'], 1000)}" for r in failed)
        out.append("")
    if going:
        out.append(f"{len(going)} variant(s) still training ({', '.join(r['variant'] for r in going)}): run the playbook "
                   "again to wait for them and complete this table.")
        out.append("")
    costs = [r["cost_usd"] for r in rows if r["cost_usd"] is not None]
    if costs:
        out.append(f"Training cost of the variants: ${sum(costs):.4f} (each run's wall time at its instance's hourly "
                   "price; the instances' set-up and idle time are not in it).")
    out.append("Sorted by final test accuracy (best first); failed variants last. Each variant's own results (report.md, "
               "metrics.json, learning_curve.png, training.log) are in `<variant>/` beside this file.")
    return "\n".join(out) + "\n"
