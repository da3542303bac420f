# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The run plan: how long each phase of the journey is expected to take, and what the whole journey costs.

Checked before anything is created, against the life of the instance (aws_gpu_instance_max_hours): a run that cannot
finish before the instance terminates itself is refused with the figures and the setting to raise.

Every figure carries its source, shown beside it in the plan:
- training: Mocha's documentation gives about 150-160 s per 200 iterations of the CIFAR-10 network on its CPU backend
  (70,000 iterations: about 15 h) and 5-6 s on a 2016 GPU (the tutorial saw about 3 s on a K80). The plan takes the
  slower end of each. ``mocha_backend: auto`` falls back to the CPU backend whenever the GPU cannot be used (the compat
  library's self-test or the Julia smoke test fails), so auto is planned at the CPU figure, with the GPU figure shown.
- Julia: the official binary installs in minutes; a source build of Julia before 1.3 builds LLVM and every dependency
  (about 4 CPU-hours), 1.x with BinaryBuilder about 1.5 CPU-hours, divided by the build jobs.
- Pkg: Julia 0.6's Pkg.init() clones METADATA.jl (about 130 MB, 27,000 files), reported to take 12-25 minutes
  (METADATA.jl#5128); adding HDF5, JLD and Mocha builds their dependencies; Pkg.test("Mocha") runs its whole suite.
- the rest (boot and a first boot's package runs, driver check, HDF5, download and conversion, results) are
  allowances, listed with their reasons in PHASES.
Measured figures replace them (:func:`measured_figures`): the seconds per 200 iterations of an earlier run on the same
instance type and backend (its metrics.json), and how long the long jobs of an earlier configure took (the Julia
source build, the Pkg jobs: :func:`measured_phases`). A figure given in the settings (mocha_cloud_seconds_per_200)
wins over both. A margin (default 15%) is added before comparing with the instance's life. Pure functions,
unit-tested.
"""

import math
import re

from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu, aws_images

DOC_SECONDS_PER_200 = {"gpu": 6.0, "cpu": 160.0}
DOC_SECONDS_PER_200_SOURCE = {
    "gpu": "Mocha's documentation: 5-6 s per 200 iterations on a 2016 GPU (the tutorial's K80: about 3 s)",
    "cpu": "Mocha's documentation: 150-160 s per 200 iterations on the CPU backend (70,000 iterations: about 15 h)",
}
# Validation every 1,000 iterations runs 10,000 test images forward (100 batches, about a third of a training step
# each): about 3% on top of training. Snapshots are small.
VALIDATION_OVERHEAD = 0.05
MARGIN = 0.15

# Fixed figures in seconds, in journey order; (key, label, seconds, where, source).
PHASES = (
    ("boot", "launch, boot, cloud-init, a first boot's apt-daily/unattended-upgrades", 600, "aws",
     "allowance: boot and cloud-init take a few minutes; Ubuntu's apt-daily and unattended-upgrades then hold the "
     "dpkg lock for minutes, which the package steps wait for"),
    ("cuda", "NVIDIA driver and CUDA check (installed on the Deep Learning AMI)", 120, "all",
     "allowance: nvidia-smi, nvcc and the self-test's compile and run; no install on the Deep Learning AMI"),
    ("hdf5", "HDF5 packages", 180, "all", "allowance: a handful of apt packages"),
    ("mocha", "Pkg: METADATA clone, HDF5, JLD, Mocha and their builds, native extension or kernels, Pkg.test", 3000,
     "all", "METADATA.jl#5128: Pkg.init's METADATA clone takes 12-25 minutes (25 taken); allowances: adding and "
     "building the packages 10 minutes, Pkg.test(\"Mocha\") 15 minutes"),
    ("data", "CIFAR-10 download (170 MB) and conversion to HDF5", 300, "all",
     "allowance: 170 MB from cs.toronto.edu and a conversion that takes seconds (benchmarks/cifar10_convert.py)"),
    ("results", "results home, learning curve, report", 120, "all", "allowance: a log, a snapshot and a plot"),
)
JULIA_BINARY_SOURCE = "allowance: the official tarball (about 90 MB), checked and unpacked"
JULIA_SOURCE_SOURCE = ("allowance: a source build of Julia before 1.3 builds LLVM and every dependency, about 4 CPU-hours "
                       "(1.x with BinaryBuilder about 1.5), divided by make -j")
JULIA_BINARY_SECONDS = 180
# CPU-seconds of a Julia source build (make -j N divides them).
JULIA_SOURCE_CPU_SECONDS = {"old": 4 * 3600, "bb": int(1.5 * 3600), "no-bb": 6 * 3600}


def vcpus_of(instance_type):
    """vCPUs of an EC2 size from its name: large 2, xlarge 4, Nxlarge 4N (metal sizes: None)."""
    m = re.fullmatch(r"[a-z0-9-]+\.(\d*)xlarge", instance_type or "")
    if m:
        return 4 * int(m.group(1) or 1)
    if re.fullmatch(r"[a-z0-9-]+\.large", instance_type or ""):
        return 2
    return None


def version_tuple(version):
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(version or ""))
    return tuple(int(x or 0) for x in m.groups()) if m else (0, 0, 0)


def julia_method_expected(method, version, host_gcc_major=None):
    """(method, why) that julia_build will take. auto on the Deep Learning AMIs (GCC 11-13) takes the binary for Julia
    before 1.3, whose bundled LLVM the known-bad table refuses on GCC 11 or newer, and builds 1.3+ from source."""
    if method in ("binary", "source"):
        return method, f"julia_build_method: {method}"
    old = version_tuple(version) < (1, 3, 0)
    gcc = host_gcc_major if host_gcc_major is not None else 11
    if old and gcc >= 11:
        return "binary", f"auto: Julia {version} builds LLVM from source, which GCC {gcc}+ cannot (known-bad table)"
    return "source", f"auto: no known-bad entry for Julia {version} with GCC {gcc}"


def julia_seconds(method, version, jobs, use_binarybuilder=True):
    if method == "binary":
        return JULIA_BINARY_SECONDS
    kind = "old" if version_tuple(version) < (1, 3, 0) else ("bb" if use_binarybuilder else "no-bb")
    return int(math.ceil(JULIA_SOURCE_CPU_SECONDS[kind] / max(1, int(jobs or 1))))


def training_seconds(iterations, seconds_per_200):
    return int(math.ceil(int(iterations) / 200.0 * float(seconds_per_200) * (1 + VALIDATION_OVERHEAD)))


def hms(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _longest_queue(queues, max_iter, backend, per200):
    """(runs, index, count): the queue of runs (a sweep's host) with the most planned training, or the one run."""
    if not queues:
        return [{"name": None, "max_iter": int(max_iter), "backend": backend}], None, 0
    best, best_seconds = 0, -1
    for i, queue in enumerate(queues):
        seconds = sum(training_seconds(r["max_iter"], per200["gpu" if (r.get("backend") or backend) == "gpu" else "cpu"])
                      for r in queue)
        if seconds > best_seconds:
            best, best_seconds = i, seconds
    runs = [{"name": r.get("name"), "max_iter": int(r["max_iter"]), "backend": r.get("backend")} for r in queues[best]]
    return runs, best, len(queues)


def _candidate(entry):
    """A fallback type: a name (priced from the collection's dated list-price table) or {instance_type, hourly_price_usd}."""
    if isinstance(entry, dict):
        return {"instance_type": str(entry.get("instance_type") or ""), "hourly_price_usd": entry.get("hourly_price_usd")}
    return {"instance_type": str(entry), "hourly_price_usd": aws_gpu.list_price(str(entry))[0]}


def plan_candidates(settings):
    """The plan when the launch may fall back to other instance types (``fallback_types``): made for the slowest
    candidate (the longest total) and priced at the most expensive known price, so no fallback breaks a limit."""
    base = {k: v for k, v in settings.items() if k not in ("fallback_types", "vcpus")}
    cands = [{"instance_type": settings.get("instance_type") or "", "hourly_price_usd": settings.get("hourly_price_usd")}]
    cands += [_candidate(e) for e in settings.get("fallback_types") or []]
    timed = [plan(dict(base, instance_type=c["instance_type"], hourly_price_usd=None)) for c in cands]
    slowest = max(range(len(cands)), key=lambda i: (timed[i]["total_with_margin_seconds"], -i))
    prices = [float(c["hourly_price_usd"]) for c in cands if c["hourly_price_usd"] not in (None, "")]
    dearest = max(prices) if prices else None
    result = plan(dict(base, instance_type=cands[slowest]["instance_type"], hourly_price_usd=dearest))
    result["candidates"] = [dict(c, total_hours=t["total_hours"]) for c, t in zip(cands, timed, strict=True)]
    result["unpriced"] = [c["instance_type"] for c in cands if c["hourly_price_usd"] in (None, "")]
    result["lines"] = lines(result)
    return result


def plan(settings):
    """The plan for one host. ``settings`` keys (all optional but max_iter):

    provider (aws|onprem), instance_type, count (instances, for the cost), vcpus, hourly_price_usd, max_hours,
    julia_version, julia_method,
    julia_jobs, use_binarybuilder, host_gcc_major, backend (auto|gpu|cpu), max_iter, seconds_per_200 ({gpu, cpu}, the
    user's figures), measured (measured_figures' answer), margin, queues (a sweep: per host, the runs it trains one
    after another, each {name, max_iter, backend};
    the host with the most training is planned, since every instance lives until the last queue ends),
    idle_minutes (the grace after which an instance that is not kept ends itself, aws_gpu_instance_idle_minutes; None
    when it is kept: the cost bound is then its whole life, max_hours).
    Returns phases (each with its figure's source), the backend planned, totals in seconds and hours, the cost, and
    whether it fits the instance life. With ``fallback_types`` (names or {instance_type, hourly_price_usd}) see
    plan_candidates.
    """
    if settings.get("fallback_types"):
        return plan_candidates(settings)
    provider = settings.get("provider") or "aws"
    backend = settings.get("backend") or "auto"
    measured = settings.get("measured") or {}
    per200, per200_source = dict(DOC_SECONDS_PER_200), dict(DOC_SECONDS_PER_200_SOURCE)
    for b, figure in (measured.get("seconds_per_200") or {}).items():
        per200[b], per200_source[b] = float(figure["seconds"]), figure["source"]
    for b, value in (settings.get("seconds_per_200") or {}).items():
        per200[b], per200_source[b] = float(value), "the setting mocha_cloud_seconds_per_200"
    margin = float(settings.get("margin", MARGIN))
    iters = int(settings["max_iter"])
    vcpus = settings.get("vcpus") or vcpus_of(settings.get("instance_type", "")) or 4
    jobs = int(settings.get("julia_jobs") or 0) or vcpus
    method, method_why = julia_method_expected(settings.get("julia_method") or "auto", settings.get("julia_version", "0.6"),
                                               settings.get("host_gcc_major"))
    planned_backend = "gpu" if backend == "gpu" else "cpu"

    phases = []
    for key, label, seconds, where, source in PHASES:
        if where == "all" or where == provider:
            phases.append({"phase": key, "what": label, "seconds": seconds, "source": source})
    phases.insert(3 if provider == "aws" else 2, {
        "phase": "julia", "seconds": julia_seconds(method, settings.get("julia_version"), jobs, settings.get("use_binarybuilder", True)),
        "what": f"Julia {settings.get('julia_version', '')} {'official binary' if method == 'binary' else f'source build, make -j {jobs}'} ({method_why})",
        "source": JULIA_BINARY_SOURCE if method == "binary" else JULIA_SOURCE_SOURCE,
    })
    for phase in phases:
        figure = (measured.get("phases") or {}).get(phase["phase"])
        if figure and (phase["phase"] != "julia" or figure.get("method") == method):
            phase.update(seconds=int(math.ceil(float(figure["seconds"]))), source=figure["source"])
    # Launched from an image of the configured machine: configure only verifies (aws_images.with_image).
    phases, image_saved = aws_images.with_image(phases, settings.get("image"),
                                                ((measured.get("phases") or {}).get("verify") or {}).get("seconds"))
    runs, queue_index, queue_count = _longest_queue(settings.get("queues"), iters, backend, per200)
    train = {"gpu": 0, "cpu": 0}
    planned_train = 0
    results = phases.pop()
    for run in runs:
        run_backend = run.get("backend") or backend
        run_planned = "gpu" if run_backend == "gpu" else "cpu"
        for b in ("gpu", "cpu"):
            train[b] += training_seconds(run["max_iter"], per200[b])
        seconds = training_seconds(run["max_iter"], per200[run_planned])
        planned_train += seconds
        label = f"{run['name']}: " if run.get("name") else ""
        phases.append({
            "phase": "train", "seconds": seconds,
            "what": f"{label}{int(run['max_iter'])} iterations on the {run_planned.upper()} backend at "
                    f"{per200[run_planned]:g} s per 200"
                    + (" (auto may fall back to the CPU backend: planned at its figure)" if run_backend == "auto" else ""),
            "source": per200_source[run_planned],
        })
        phases.append(dict(results, what=f"{label}{results['what']}") if len(runs) > 1 else results)
    total = sum(p["seconds"] for p in phases)
    with_margin = int(math.ceil(total * (1 + margin)))
    gpu_total = total - planned_train + train["gpu"]

    price = settings.get("hourly_price_usd")
    price = float(price) * int(settings.get("count") or 1) if price not in (None, "") else None
    max_hours = settings.get("max_hours")
    max_hours = float(max_hours) if max_hours not in (None, "") else None
    fits = True if (provider != "aws" or max_hours is None) else with_margin <= max_hours * 3600
    idle = settings.get("idle_minutes")
    idle = float(idle) if idle not in (None, "") and provider == "aws" else None
    needed_hours = int(math.ceil(with_margin / 3600.0))
    result = {
        "provider": provider,
        "instance_type": settings.get("instance_type") or "",
        "backend_requested": backend,
        "backend_planned": planned_backend,
        "julia_method": method,
        "phases": phases,
        "total_seconds": total,
        "total_with_margin_seconds": with_margin,
        "margin": margin,
        "total_hours": round(with_margin / 3600.0, 2),
        "gpu_total_hours": round(gpu_total * (1 + margin) / 3600.0, 2),
        "cpu_total_hours": round((total - planned_train + train["cpu"]) * (1 + margin) / 3600.0, 2),
        "queue": {"index": queue_index, "count": queue_count, "runs": [r.get("name") for r in runs]} if queue_count else None,
        "max_hours": max_hours,
        "count": int(settings.get("count") or 1),
        "fits": fits,
        "hours_needed": needed_hours,
        "hourly_price_usd": price,
        "cost_usd": round(with_margin / 3600.0 * price, 2) if price is not None else None,
        "cost_at_max_hours_usd": round(max_hours * price, 2) if (price is not None and max_hours) else None,
        "idle_minutes": idle,
        "image": dict(settings["image"], saved_seconds=image_saved) if settings.get("image") else None,
        # Autodown: the instance ends when the run is home, or itself after the grace: the plan plus the grace at most
        # (never more than its whole life).
        "cost_at_most_usd": (round(min(with_margin / 3600.0 + idle / 60.0, max_hours or float("inf")) * price, 2)
                             if (price is not None and idle is not None) else None),
    }
    result["lines"] = lines(result)
    return result


def lines(p):
    """The plan as lines a person reads."""
    out = [f"Run plan ({p['instance_type'] or p['provider']}, backend {p['backend_requested']}"
           f" -> planned {p['backend_planned']}, Julia {p['julia_method']}):"]
    if p.get("queue"):
        q = p["queue"]
        out[0] = out[0][:-1] + f", the longest of {q['count']} queue(s): host {q['index'] + 1}, {' then '.join(q['runs'])}):"
    if p.get("candidates"):
        priced = [(c, f"${float(c['hourly_price_usd']):g}/h" if c["hourly_price_usd"] not in (None, "") else "no price")
                  for c in p["candidates"]]
        dearest = f"; priced at the dearest, ${p['hourly_price_usd'] / p.get('count', 1):g}/h" if p["hourly_price_usd"] is not None else ""
        unpriced = f" (no price known for {', '.join(p['unpriced'])})" if p.get("unpriced") else ""
        out.append("  types    " + ", ".join(f"{c['instance_type']} ({c['total_hours']} h, {price})" for c, price in priced)
                   + f": planned for the slowest, {p['instance_type']}{dearest}{unpriced}")
    if p.get("image"):
        im = p["image"]
        out.append(f"  image    {im.get('image_id', '')} ({im.get('name', '')}), baked {im.get('baked_at', '')} by run "
                   f"{im.get('baked_by_run') or 'unknown'}: configure only verifies it, {hms(im['saved_seconds'])} saved")
    for ph in p["phases"]:
        out.append(f"  {ph['phase']:<8} {hms(ph['seconds']):>7}  {ph['what']}  [{ph['source']}]")
    out.append(f"  total    {hms(p['total_seconds']):>7}  + {round(p['margin'] * 100)}% margin = {hms(p['total_with_margin_seconds'])}"
               f" (on the GPU backend: {p['gpu_total_hours']} h; on the CPU backend: {p['cpu_total_hours']} h)")
    if p["hourly_price_usd"] is not None:
        out.append(f"  cost     about ${p['cost_usd']:.2f} at ${p['hourly_price_usd']:g}/h"
                   + (f" ({p['count']} instances)" if p.get("count", 1) > 1 else "")
                   + (f"; at most ${p['cost_at_most_usd']:.2f}: the plan plus the {p['idle_minutes']:g}-minute grace after "
                      f"which an instance ends itself (its {p['max_hours']:g} h expiry is the backstop)"
                      if p.get('cost_at_most_usd') is not None else
                      f"; at most ${p['cost_at_max_hours_usd']:.2f} if the instance{'s live' if p.get('count', 1) > 1 else ' lives'} its {p['max_hours']:g} h"
                      + (" (aws_gpu_instance_keep)" if p['provider'] == 'aws' else "")
                      if p['cost_at_max_hours_usd'] is not None else ""))
    if p["provider"] == "aws" and p["max_hours"] is not None:
        out.append(f"  instance life {p['max_hours']:g} h (aws_gpu_instance_max_hours): "
                   + ("the plan fits" if p["fits"] else
                      f"TOO SHORT: the plan needs {p['total_hours']} h. Raise aws_gpu_instance_max_hours to at least "
                      f"{p['hours_needed']}, lower cifar10_max_iter, or use mocha_backend: gpu if the GPU backend works for you"))
    return out


# ---------------------------------------------------------------------------------------------
# Measured figures
# ---------------------------------------------------------------------------------------------
def measured_key(instance_type, host=""):
    """What measured figures are kept under: the EC2 instance type, else (on-prem) the host."""
    return str(instance_type or "") or (f"host:{host}" if host else "")


def measured_phases(job_times, julia_method=""):
    """{phase: seconds} from the long jobs a configure ran (common_job_times: job name -> seconds of a job that
    finished): the Julia source build (job julia-build), and the Pkg phase, only when it ran in full (its METADATA
    clone, job mocha-pkg-init, ran: a part would understate it) as the sum of the mocha-pkg-* jobs."""
    times = {str(k): float(v) for k, v in (job_times or {}).items() if v is not None}
    phases = {}
    if "julia-build" in times:
        phases["julia"] = {"seconds": times["julia-build"], "method": julia_method or "source"}
    if "mocha-pkg-init" in times:
        phases["mocha"] = {"seconds": sum(v for k, v in times.items() if k.startswith("mocha-pkg-"))}
    return phases


def measured_figures(key, metrics=None, records=None):
    """The measured figures for the plan of one instance type (or on-prem host) KEY, each with its source.

    metrics: the metrics.json of earlier runs (any hosts; those with this instance type, or on this on-prem host,
    count): per backend, the seconds per 200 iterations of the run with the most iterations. records: the measured
    phases kept on the controller ({key: {phase: {seconds, at, host, ...}}}, written after a configure).
    """
    out = {"seconds_per_200": {}, "phases": {}}
    best = {}
    for m in metrics or []:
        if not isinstance(m, dict) or not key:
            continue
        mine = (m.get("instance_type") == key) or (key.startswith("host:") and f"host:{m.get('host')}" == key)
        spi = m.get("seconds_per_200_iterations")
        if not mine or not isinstance(spi, (int, float)) or spi <= 0 or m.get("backend") not in ("gpu", "cpu"):
            continue
        iters = int(m.get("iterations") or 0)
        if iters > best.get(m["backend"], (0, None))[0]:
            best[m["backend"]] = (iters, m)
    for b, (iters, m) in best.items():
        out["seconds_per_200"][b] = {
            "seconds": float(m["seconds_per_200_iterations"]),
            "source": f"measured: run {m.get('run_id', '?')} on {m.get('host', '?')} ({key}), {iters} iterations",
        }
    for phase, rec in ((records or {}).get(key) or {}).items():
        if isinstance(rec, dict) and isinstance(rec.get("seconds"), (int, float)):
            out["phases"][phase] = dict(rec, source=f"measured: {rec.get('host', '?')} ({key}) on {rec.get('at', '?')}")
    return out


def record_measured(records, key, host, phases, at):
    """The measured records with this configure's phases (measured_phases) put in for KEY; others kept."""
    out = {k: dict(v) for k, v in (records or {}).items() if isinstance(v, dict)}
    if not key or not phases:
        return out
    mine = out.setdefault(key, {})
    for phase, figure in phases.items():
        mine[phase] = dict(figure, seconds=round(float(figure["seconds"]), 1), host=host, at=at)
    return out
