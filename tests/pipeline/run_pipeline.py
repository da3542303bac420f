#!/usr/bin/env python3
"""The offline pipeline test: site.yml end to end against stand-ins, run twice, then torn down.

    tests/pipeline/run_pipeline.py [--keep] [--max-iter N]

Stand-ins (all local, all under tests/):
- AWS: moto's standalone server on a free 127.0.0.1 port (instance-type and AMI validation on).
- the GPU instance: a podman container from the scenario image (scripts/build-image). The test's EC2
  inventory (a copy of inventory/aws_ec2.yml) maps the instance moto launched to that container's connection.
- github.com/JuliaLang/julia and Mocha.jl: local bare git repositories (tests/fixtures/make_*_upstream.py);
  the Julia upstream's Makefile installs the fake julia (tests/fakes/julia/), and its 0.6 trees fail to build
  with GCC 11 or newer, as the real ones are known to.
- julialang-s3's official Julia 0.6.4 tarball: a FAKE one in the real layout (tests/fixtures/make_julia_binary.py)
  with a test sha256, served on 127.0.0.1 with the CIFAR-10 data.
- the CIFAR-10 download: a synthetic archive in the real format, served on 127.0.0.1 (tests/fixtures/).
- the default instance's compiler (GCC 11-13 on the Deep Learning AMIs): Debian 12's GCC 12, installed in the
  container before site.yml runs.
- the instance metadata service: a FAKE IMDSv2 on 127.0.0.1 (tests/fakes/imds.py) that gives the state keeper the
  instance profile's (fake) credentials and, when told to, a spot interruption notice; the keeper ships the run's state
  to the moto bucket through it. It answers the id of the instance the container stands for.
- EC2's hold on the machine: the FAKE EC2 host (tests/fakes/ec2_host.py) binds the container to the moto instance
  launched for it: an instance terminated through the API stops its container; a container that powers itself off (the
  idle watch runs the FAKE poweroff, tests/fakes/poweroff, installed as /usr/local/sbin/poweroff) is terminated or
  stopped as its InstanceInitiatedShutdownBehavior says.

settings.yml is the repository's own, unchanged except cifar10_max_iter (the run plan must fit its max hours); the
extra vars only point at the stand-ins (URLs, checksums, the local repositories).

- a fresh Ubuntu's first minutes: the FAKE first boot (tests/fakes/first_boot.py) holds the dpkg lock as
  unattended-upgrades does, until a package manager has waited longer than apt's own 60 s; and /etc/ssl/certs holds
  a dangling link (Julia 0.6 aborts at start on one in SSL_CERT_DIR).

Steps and what each must show:
1. first run of site.yml with -e aws_gpu_instance_keep=true, and EC2 out of capacity for the type in the first zone
   (us-east-1a: moto's launcher refuses RunInstances there with InsufficientInstanceCapacity, as EC2 does): provision
   (moto) lands in the next zone, us-east-1b, and says so attempt by attempt; configure, train; artifacts on the
   controller, whose metrics.json and report.md record the zone and market; the instance is kept, and the bill says
   until when. julia_build's default method (auto) installed the verified binary because the known-bad entry for
   Julia 0.6 with GCC 11+ matched, and no source build ran. The package steps waited for the first boot's lock;
   Pkg.init, adding Mocha and Pkg.test ran detached and were polled, one line per poll.
2. second run of site.yml with the shipped settings: changed=0 on the instance; its run plan takes the figures the
   first run measured; the controller's only changes end the run (autodown: the instance terminated, then the run's
   security group, key pair, role and profile), the container stops, and one line beginning "autodown:" gives the
   instance, its final state and the seconds from results home to its end; the bill says nothing runs, what is left
   and the command that removes it.
2b. a third run launches nothing and changes nothing: the run finished, its instance is gone, its results are home.
Every ansible-playbook prints no warning but the upstream ones of UPSTREAM_WARNINGS.
3. the run's state in S3: the marker says finished at the last iteration and names a snapshot that is there with
   that sha256; the legs say one leg, finished; report.md's speed, wall time, instance hours and cost agree with
   legs.json (tests/pipeline/report_check.py; the FAKE training is paced at FAKE_PACE so the log's times measure it).
4. site.yml with -e teardown=true --tags teardown keeps the results bucket (it holds the run's state) and says so;
   with -e teardown_delete_results=true as well, nothing of the project is left in moto.
It prints the wall time of the first and second run (the pipeline benchmark quotes these) and exits
non-zero when any check fails.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from moto_server import FakeAws, aws_env  # noqa: E402  (test helpers beside the AWS integration tests)

sys.path.insert(0, str(REPO / "tests" / "fakes"))
import ec2_host  # noqa: E402  (the FAKE EC2 host: containers bound to moto instances)

IMAGE = os.environ.get("MOLECULE_IMAGE", "localhost/mocha-cloud-debian12:latest")
FAKE_PACE = 0.05  # seconds per iteration of the FAKE training in the pipeline
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
# A user reads every warning as something wrong: the journey prints none of its own, and a pipeline fails on any
# warning but these, which come from upstream code the project calls (each says whose it is).
UPSTREAM_WARNINGS = tuple(re.compile(p) for p in (
    # ansible-core's footnote under any deprecation warning
    r"^\[WARNING\]: Deprecation warnings can be disabled by setting `deprecation_warnings=False` in ansible\.cfg\.",
    # amazon.aws's aws_ec2 inventory plugin passes disable_lookups to Templar.template, which ansible-core 2.19 deprecates
    r"^\[DEPRECATION WARNING\]: Passing `disable_lookups` to `template` is deprecated\.",
    # amazon.aws.iam_role announces on every call a return value it will stop giving
    r"^\[DEPRECATION WARNING\]: In a release after 2026-05-01 iam_role\.assume_role_policy_document_raw will no longer",
))
WARNING_LINE = re.compile(r"^\[(?:DEPRECATION )?WARNING\]:.*$", re.M)
# The FAKE first boot (tests/fakes/first_boot.py) holds the dpkg lock until a package manager has waited this long in
# one go: longer than apt's own 60 s wait, so a package task that does not wait longer fails, as on a real first boot.
FIRST_BOOT_WAIT = 75
# The FAKE julia's METADATA clone (Pkg.init) ends only once this file exists on the instance: the journey creates it
# when a poll has printed the clone running, so that the poll is seen on a machine of any speed.
PKG_RELEASE = "/var/tmp/fake-julia-pkg-init.release"


def sh(cmd, **kw):
    """Run a command, echoing it; return CompletedProcess (text)."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], text=True, **kw)


def sh_releasing(cmd, pattern, release, **kw):
    """sh() with its output captured, read line by line as it comes: once PATTERN matches (in a line with the one before
    it, whitespace runs as one space: ansible may fold a long message), RELEASE() runs (once). A test that must see a step
    running lets that step end only after it was seen, however slow the machine."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    proc = subprocess.Popen([str(c) for c in cmd], text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    err = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    reader.start()
    out, released = [], False
    for line in proc.stdout:
        if not released and re.search(pattern, " ".join((out[-1] if out else "").split() + line.split())):
            released = True
            release()
        out.append(line)
    proc.wait()
    reader.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(out), "".join(err))


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if not ok:
        raise SystemExit(1)


def check_no_warnings(output, what):
    """No warning in OUTPUT but the upstream ones (UPSTREAM_WARNINGS)."""
    ours = [w for w in WARNING_LINE.findall(output) if not any(p.search(w) for p in UPSTREAM_WARNINGS)]
    check(not ours, f"{what} printed no warning of the project's making: {ours}")


def recap(output):
    return {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                         "failed": int(m.group(5))} for m in RECAP.finditer(output)}


def make_fixtures(work):
    py = sys.executable
    sh([py, REPO / "tests/fixtures/make_julia_upstream.py", work / "julia.git"], check=True, stdout=subprocess.DEVNULL)
    sh([py, REPO / "tests/fixtures/make_mocha_upstream.py", work / "Mocha.jl.git"], check=True, stdout=subprocess.DEVNULL)
    out = sh([py, REPO / "tests/fixtures/make_cifar10.py", work / "www", "--per-batch", "50"],
             check=True, capture_output=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    julia = sh([py, REPO / "tests/fixtures/make_julia_binary.py", work / "www"], check=True, capture_output=True).stdout
    data["julia_binary"] = json.loads(julia)
    return data


def start_data_server(work):
    port_file = work / "www.port"
    proc = subprocess.Popen([sys.executable, REPO / "tests/fixtures/serve_http.py", work / "www", "--port", "0",
                             "--port-file", port_file], stdout=subprocess.DEVNULL)
    for _ in range(100):
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text().strip())
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the data server did not start")


def write_inventory(work, container, host=None, name="pipeline"):
    """The project's EC2 inventory, with each instance mapped to the test container's connection (HOST: a Jinja
    expression of the instance's variables naming its container instead)."""
    import yaml

    inv = yaml.safe_load((REPO / "inventory/aws_ec2.yml").read_text())
    compose = inv.setdefault("compose", {})
    for key in ("ansible_ssh_common_args", "ansible_ssh_private_key_file"):
        compose.pop(key, None)
    compose.update({
        # containers.podman.podman with pipelining (tests/plugins/connection): one exec per task, as over SSH.
        "ansible_connection": "'podman_pipelined'",
        "ansible_host": host or f"'{container}'",
        "ansible_user": "'root'",
        "ansible_python_interpreter": "'/usr/bin/python3'",
    })
    path = work / f"{name}.aws_ec2.yml"
    path.write_text(yaml.safe_dump(inv, sort_keys=False))
    # The inventory's group_vars (the run id and results store of each EC2 host) beside it, as in the checkout.
    if not (work / "group_vars").exists():
        (work / "group_vars").symlink_to(REPO / "inventory" / "group_vars")
    return path


@contextlib.contextmanager
def stand_ins(kind, keep, hosts=1, imds=False, from_images=False):
    """The stand-ins of one pipeline, stopped and removed at the end (the work directory and the containers kept with
    KEEP): a work directory under /var/tmp, the names of HOSTS containers, moto, the pipelines' environment, the
    fixtures and their HTTP server, with IMDS the FAKE IMDS, and with FROM_IMAGES a container made from the image for an
    instance launched from a baked image. Yields them as attributes (work, containers, moto,
    env, data, data_port, imds_url)."""
    work = Path(tempfile.mkdtemp(prefix=f"mocha-{kind}-", dir="/var/tmp"))
    base = f"mocha-{kind}-{os.environ.get('MOCHA_CLOUD_TEST_SUFFIX') or 'local'}-{os.getpid()}"
    names = [base] if hosts == 1 else [f"{base}-{i}" for i in range(hosts)]
    s = types.SimpleNamespace(work=work, containers=names, moto=FakeAws(work), data_proc=None, imds_server=None,
                              imds_url=None, imds_state=None, ec2_host=None)
    try:
        s.moto.start()
        s.env = pipeline_env(s.moto, work)
        s.data = make_fixtures(work)
        s.data_proc, s.data_port = start_data_server(work)
        if imds:
            s.imds_server, s.imds_url, s.imds_state = start_imds()
        # An instance launched from a baked image boots a container made from that image (the FAKE EC2 host).
        s.ec2_host = ec2_host.FakeEc2Host(s.moto, names, s.env, s.imds_state, image_repo=f"localhost/{base}-ami",
                                          spawn=(lambda name, image: start_container(name, s.env, work, image))
                                          if from_images else None).start()
        yield s
    finally:
        spawned, repo = [], None
        if s.ec2_host:
            s.ec2_host.stop()
            (work / "ec2-host.log").write_text("\n".join(s.ec2_host.event_lines()) + "\n")
            spawned, repo = list(s.ec2_host.spawned), s.ec2_host.image_repo
        clean_up(keep, work, names + spawned, s.moto, s.data_proc, s.imds_server)
        if repo and not keep:
            for line in subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", repo], capture_output=True,
                                       text=True, check=False).stdout.split():
                subprocess.run(["podman", "rmi", "-f", line], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def pipeline_env(moto, work):
    """The environment of every ansible-playbook the pipelines run: moto only, the test's settings, podman."""
    return aws_env(moto.endpoint, work) | {
        "AWS_REGION": "us-east-1",
        "MOCHA_CLOUD_SETTINGS": str(work / "settings.yml"),
        "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(REPO / "molecule/containers.conf")),
        "ANSIBLE_CONNECTION_PLUGINS": str(REPO / "tests/plugins/connection"),
    }


def start_container(container, env, work, image=IMAGE):
    """A fresh instance stand-in: the scenario image (or an image baked from an instance), host network (moto, the data
    server and the FAKE IMDS are on 127.0.0.1), the work directory mounted, an init as PID 1 and the FAKE poweroff (the
    container stops when its system powers off, as a virtual machine does)."""
    sh(["podman", "rm", "-f", container], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # --http-proxy=false: the dead proxy that seals the controller off from real AWS must not reach the container.
    sh(["podman", "run", "-d", "--init", "--name", container, "--network", "host", "--http-proxy=false", "-v", f"{work}:{work}",
        image, "sleep", "infinity"], check=True, stdout=subprocess.DEVNULL, env=env)
    sh(["podman", "cp", REPO / "tests" / "fakes" / "poweroff", f"{container}:/usr/local/sbin/poweroff"], check=True, env=env)


def start_imds():
    """The FAKE IMDSv2 (tests/fakes/imds.py) in this process; returns (server, its URL, its state)."""
    import imds

    server, state = imds.serve()
    return server, f"http://127.0.0.1:{server.server_address[1]}", state


def imds_control(url, verb):
    """POST /_fake/<verb> on the FAKE IMDS (interrupt: post a spot interruption notice; clear: take it back)."""
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(f"{url}/_fake/{verb}", method="POST"), timeout=5) as resp:
        return resp.status


def s3_run_state(moto, run_id, project="mocha-cloud"):
    """The run's state as the keeper shipped it: (marker dict or None, {key: body bytes} under <project>/<run id>/)."""
    s3 = moto.client("s3")
    prefix = f"{project}/{run_id}/"
    for bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
        if keys:
            bodies = {k[len(prefix):]: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}
            marker = json.loads(bodies["state.json"]) if "state.json" in bodies else None
            return marker, bodies
    return None, {}


def check_shipped(moto, run_id, state, iteration=None):
    """The marker says STATE (at ITERATION) and names a snapshot that is in S3 with the sha256 it gives."""
    import hashlib

    marker, bodies = s3_run_state(moto, run_id)
    check(marker is not None and marker.get("state") == state and (iteration is None or marker.get("iteration") == iteration),
          f"the run's marker in S3 says {state}" + (f" at iteration {iteration}" if iteration is not None else "")
          + f": {marker}")
    body = bodies.get(f"state/{marker.get('snapshot')}")
    check(body is not None and hashlib.sha256(body).hexdigest() == marker.get("sha256"),
          f"the snapshot the marker names is in S3 with its sha256: {marker.get('snapshot')}")
    check(sorted(k for k in bodies if k.startswith("state/snapshot-")) == [f"state/{marker['snapshot']}"],
          f"only the newest snapshot is kept in S3: {sorted(bodies)}")
    legs = json.loads(bodies.get("state/legs.json", b"{}")).get("legs", [])
    return marker, legs


def teardown_keeps_then_deletes_results(playbook, env, moto, run_id, images=0):
    """Teardown keeps the results bucket with the run's state in it (and says so), and the project's IMAGES images with
    their monthly cost; with teardown_delete_results and teardown_delete_images it removes those too, and nothing of the
    project is left."""
    down = sh(playbook + ["--tags", "teardown", "-e", "teardown=true"], env=env, cwd=REPO, capture_output=True)
    print(down.stdout[-3000:], down.stderr[-2000:], sep="\n", flush=True)
    check(down.returncode == 0, "teardown succeeded")
    check_no_warnings(down.stdout + down.stderr, "teardown")
    left = aws_leftovers(moto)
    check(len(left["buckets"]) == 1 and s3_run_state(moto, run_id)[0] is not None
          and f"results kept in s3://{left['buckets'][0]}/mocha-cloud/{run_id}/" in " ".join(down.stdout.split()),
          f"teardown kept the results bucket with the run's state, and said so: {left['buckets']}")
    check(not left["instances"] and not left["run_roles"] and not left["instance_profiles"],
          f"teardown removed the instances, the run's role and profile: {left}")
    flat = " ".join(down.stdout.split())
    said = re.search(r"image ami-\w+ \(.*?\), baked \S+ by run pipeline: at most [0-9.]+ GB of snapshots \(the size "
                     r"of its volumes\), about \$[0-9.]+ a month", flat) and "remove them with -e teardown_delete_images=true" in flat
    check(len(left["images"]) == images and (not images or said),
          f"teardown kept the project's {images} image(s) and said what they cost a month: {left['images']}")
    down = sh(playbook + ["--tags", "teardown", "-e", "teardown=true", "-e", "teardown_delete_results=true",
                          "-e", "teardown_delete_images=true"], env=env, cwd=REPO, capture_output=True)
    print(down.stdout[-2000:], down.stderr[-2000:], sep="\n", flush=True)
    check(down.returncode == 0, "teardown with teardown_delete_results=true succeeded")
    check_no_warnings(down.stdout + down.stderr, "teardown with teardown_delete_results=true")
    left = aws_leftovers(moto)
    check(not any(left.values()), f"nothing left in AWS after teardown with teardown_delete_results=true: {left}")


def clean_up(keep, work, containers, moto, data_proc=None, imds_server=None):
    """Stop the stand-ins; remove the containers and the work directory unless --keep."""
    if data_proc:
        data_proc.kill()
    if imds_server:
        imds_server.shutdown()
    moto.stop()
    if keep:
        print(f"kept {work} and container(s) {', '.join(containers)}")
        return
    for c in containers:
        subprocess.run(["podman", "rm", "-f", c], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)


def write_vars(work, data, data_port, max_iter, imds_url=None, s3_endpoint=None, pace=None, pkg_seconds=""):
    import yaml

    settings = yaml.safe_load((REPO / "settings.yml").read_text())
    settings.update({"cifar10_max_iter": max_iter})
    (work / "settings.yml").write_text(yaml.safe_dump(settings))
    extra = {
        "aws_gpu_instance_check_quota": False,
        "aws_gpu_instance_show_price": False,
        "aws_gpu_instance_ssh_cidr": "203.0.113.7/32",
        "aws_gpu_instance_run_id": "pipeline",
        "aws_gpu_instance_owner": "pipeline-test",
        # Amazon Linux 2023's public parameter, which moto carries (its user is mapped to the container's root).
        "aws_gpu_instance_ami_ssm_parameter": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
        "aws_gpu_instance_private_key_dir": str(work / "ssh"),
        "julia_build_repo_url": f"file://{work}/julia.git",
        # The FAKE official tarball and its test sha256 (the shipped sum is the real tarball's).
        "julia_build_binary_url_base": f"http://127.0.0.1:{data_port}",
        "julia_build_binary_checksums": {data["julia_binary"]["version"]: {"x86_64": data["julia_binary"]["sha256"]}},
        "mocha_source": f"file://{work}/Mocha.jl.git",
        "cifar10_url": f"http://127.0.0.1:{data_port}/cifar-10-binary.tar.gz",
        "cifar10_archive_size": data["size"],
        "cifar10_archive_md5": data["md5"],
        "cifar10_snapshot_interval": max(1, max_iter // 2),
        "cifar10_validation_interval": max(1, max_iter // 2),
        "cifar10_summary_interval": max(1, max_iter // 4),
        "cifar10_poll_interval": 2,
        "mocha_pkg_poll_interval_s": 2,
        "cifar10_artifacts_dir": str(work / "artifacts"),
        # The state keeper's stand-ins: the FAKE IMDS (credentials, spot notices) and moto's S3.
        "cifar10_state_keeper_interval": 2,
    }
    if pace:  # the FAKE training paced (seconds per iteration), on top of the mocha role's environment (the role's default)
        extra["cifar10_environment"] = ("{{ mocha_environment | default({}) | combine({'FAKE_MOCHA_SECONDS_PER_ITER': '"
                                        + str(pace) + "'}) }}")
    if pkg_seconds:
        # The FAKE julia takes its time where the real one does (the METADATA clone, adding a package, Pkg.test).
        extra["mocha_julia_environment"] = {"FAKE_JULIA_PKG_SECONDS": pkg_seconds,
                                            "FAKE_JULIA_PKG_RELEASE_FILE": PKG_RELEASE}
    if imds_url:
        extra["cifar10_imds_endpoint"] = imds_url
    if s3_endpoint:
        extra["cifar10_s3_endpoint_url"] = s3_endpoint
    path = work / "vars.yml"
    path.write_text(yaml.safe_dump(extra))
    return path


def install_gcc(container, env):
    """Debian 12's GCC 12 in the container, as the default instance has GCC 11-13 before anything runs."""
    run = sh(["podman", "exec", container, "sh", "-c",
              "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc"
              " >/dev/null && gcc -dumpfullversion -dumpversion"], env=env, capture_output=True)
    check(run.returncode == 0, f"gcc installed in the container: GCC {run.stdout.strip()}"
          + ("" if run.returncode == 0 else f" (rc={run.returncode}: {run.stderr.strip()[-500:]})"))
    return run.stdout.strip()


def first_boot(container, env, work):
    """The instance's first minutes as a fresh Ubuntu's: unattended-upgrades holding the dpkg lock (the FAKE
    tests/fakes/first_boot.py, from the work directory the container mounts), and a CA directory holding a dangling
    link (a CA removed from the bundle), which Julia 0.6 would abort on if it were ever given SSL_CERT_DIR."""
    shutil.copy(REPO / "tests" / "fakes" / "first_boot.py", work / "first_boot.py")
    sh(["podman", "exec", container, "ln", "-sf", "/usr/share/ca-certificates/mozilla/Removed_Root_CA.crt",
        "/etc/ssl/certs/b7a5b843.0"], check=True, env=env)
    sh(["podman", "exec", "-d", container, "python3", work / "first_boot.py", "--wait", str(FIRST_BOOT_WAIT),
        "--log", work / "first-boot.log"], check=True, env=env)
    for _ in range(100):
        if (work / "first-boot.log").is_file() and "holding" in (work / "first-boot.log").read_text():
            return
        time.sleep(0.1)
    raise SystemExit("the FAKE first boot did not take the dpkg lock")


def check_first_boot(work):
    """The journey's package steps waited for the first boot's lock rather than failing on it."""
    text = (work / "first-boot.log").read_text() if (work / "first-boot.log").is_file() else ""
    # The FAKE first boot polls its waiters: on a busy machine it sees the wait end a second or so late.
    waited = [int(n) for n in re.findall(r"a package manager waited (\d+) s", text)]
    check(any(n >= FIRST_BOOT_WAIT for n in waited),
          f"the package steps waited for the first boot's dpkg lock: {text.strip().splitlines()[-1:]}")


def check_pkg_jobs(log):
    """Pkg.init (the METADATA clone), adding Mocha and Pkg.test ran detached, one progress line per poll; the METADATA
    clone, the longest, was seen running with its last log line."""
    for job in ("mocha-pkg-init", "mocha-pkg-add-Mocha", "mocha-pkg-test"):
        polls = re.findall(rf"\[{job} (?:running|finished)\] \S+", log)
        check(len(polls) >= 1 and f"[{job} finished]" in log,
              f"{job} ran as a job of the supervisor, polled with a progress line each time ({len(polls)} lines)")
    check(re.search(r"\[mocha-pkg-init running\] \S+ \| INFO: Cloning METADATA from", log) is not None,
          "a poll saw the METADATA clone running, with its last log line")


def check_julia_method(container, env, log, gcc):
    """julia_build chose the binary because of the known-bad entry, and started no source build."""
    flat = " ".join(log.split())
    check(f"method auto -> binary (Julia 0.6.4): known-bad entry llvm-from-source-gcc11-limits matches a source build "
          f"of Julia 0.6.4 with GCC {gcc}" in flat, f"julia_build chose the binary by the known-bad entry (GCC {gcc})")
    check("Clone only the tag" not in flat and "Start the build detached" not in flat,
          "julia_build ran no clone and no build")
    left = sh(["podman", "exec", container, "sh", "-c", "ls -d /usr/local/src/julia-* 2>/dev/null; ls /opt/julia"],
              env=env, capture_output=True).stdout.split()
    check(left == ["julia-0.6.4"], f"only the binary install under /opt/julia, no source tree: {left}")


def check_julia_runtime(container, env):
    """The official binary's bundled libstdc++ is older than Debian 12's: Mocha's processes preload the system's, and
    every one of them (Pkg calls included) trusts the system's CA store, not Julia 0.6's 2018 cert.pem."""
    run_env = sh(["podman", "exec", container, "cat", "/var/lib/mocha-cifar10/run/environment.sh"], env=env,
                 capture_output=True).stdout
    check(re.search(r"(?m)^LD_PRELOAD=\S*libstdc\+\+\.so\.6$", run_env) is not None,
          "the training environment preloads the system libstdc++ over Julia's bundled older one")
    check("SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in run_env, "the training environment trusts the system CA store")
    check("SSL_CERT_DIR" not in run_env, "the training environment sets no SSL_CERT_DIR (Julia 0.6 would abort on its dangling link)")
    wrapper = sh(["podman", "exec", container, "cat", "/usr/local/bin/mocha-julia"], env=env, capture_output=True).stdout
    check("LD_PRELOAD=" in wrapper, "mocha-julia preloads the system libstdc++ for Mocha's processes")


def check_failover(moto, log):
    """The first zone refused for capacity and the launch went on at once to the next zone, one line per attempt."""
    ec2 = moto.client("ec2")
    placed = [(i["InstanceType"], i["Placement"]["AvailabilityZone"])
              for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])["Reservations"]
              for i in r["Instances"]]
    check(placed == [("g4dn.xlarge", "us-east-1b")], f"the instance runs in the second zone, us-east-1b: {placed}")
    flat = " ".join(log.split())
    check("attempt 1/2: g4dn.xlarge in us-east-1a (on-demand): InsufficientInstanceCapacity: We currently do not have "
          "sufficient g4dn.xlarge capacity in the Availability Zone you requested (us-east-1a)." in flat
          and re.search(r"attempt 2/2: g4dn\.xlarge in us-east-1b \(on-demand\): launched 1 \(i-\w+\)", flat),
          "provision said what EC2 answered in us-east-1a and where it launched instead")


def check_measured(log, work):
    """The first run's measured figures replace the published ones in the second run's plan: the Pkg phase (kept in
    artifacts/measured.json by the configure play) and the training's seconds per 200 (its metrics.json)."""
    measured = json.loads((work / "artifacts" / "measured.json").read_text())
    check(measured.get("g4dn.xlarge", {}).get("mocha", {}).get("seconds", 0) > 0,
          f"the configure kept the Pkg phase it measured: {measured}")
    flat = " ".join(log.split())
    check(re.search(r"mocha +\d+h\d+m .*?\[measured: \S+ \(g4dn\.xlarge\) on ", flat) is not None,
          "the second run's plan takes the Pkg phase the first run measured")
    spi = [json.loads(m.read_text()).get("seconds_per_200_iterations") for m in (work / "artifacts").glob("*/*/metrics.json")]
    if any(spi):  # a log with timestamps gives a training speed
        check(re.search(r"train +\d+h\d+m .*?\[measured: run pipeline on ", flat) is not None,
              f"the second run's plan takes the training speed the first run measured ({spi})")


def live_instances(moto, run_id="pipeline"):
    return [i["InstanceId"] for i in all_instances(moto, run_id) if i["State"]["Name"] in ("pending", "running")]


def all_instances(moto, run_id="pipeline"):
    tag = [{"Name": "tag:mocha-cloud:run-id", "Values": [run_id]}]
    return [i for r in moto.client("ec2").describe_instances(Filters=tag)["Reservations"] for i in r["Instances"]]


def changed_tasks(output, host):
    """The names of the tasks that reported changed for HOST in an ansible-playbook output."""
    task, found = "", []
    for line in output.splitlines():
        m = re.match(r"^TASK \[(.*)\] \*+$", line)
        if m:
            task = m.group(1)
        elif re.match(rf"^changed: \[{re.escape(host)}\]", line):
            found.append(task)
    return found


def check_kept(output, instance):
    """Kept with aws_gpu_instance_keep: the autodown play keeps it, and the bill says until when."""
    flat = " ".join(output.split())
    check("kept (aws_gpu_instance_keep) until its expiry" in flat and "Terminate the instances" in flat
          and "changed: [localhost]" not in flat.split("Autodown | Terminate")[1][:300],
          f"run 1 kept its instance {instance}")
    check(f"still running {instance} (pipeline)" in flat and "until its expiry" in flat and "The bill of run pipeline" in flat,
          f"the bill of run 1 says {instance} still runs until its expiry")


def check_autodown(output, moto, host, container, env, instance, wall):
    """Run 2 ends the run: the controller terminates the instance (its only changes are the end of the run), EC2's
    container stops, and the run's other resources go; the results stay. Prints the autodown: line."""
    changes = changed_tasks(output, "localhost")
    check(changes and all(t.split(" : ")[-1].startswith(("Autodown |", "Teardown |")) for t in changes)
          and any("Terminate the instances" in t for t in changes),
          f"run 2's only changes on the controller end the run: {changes}")
    (inst,) = [i for i in all_instances(moto) if i["InstanceId"] == instance]
    check(inst["State"]["Name"] == "terminated", f"{instance} is terminated in EC2: {inst['State']}")
    deadline = time.monotonic() + 60
    while ec2_host.container_state(container, env) == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    check(ec2_host.container_state(container, env) == "exited", f"its container stopped: {ec2_host.container_state(container, env)}")
    flat = " ".join(output.split())
    m = re.search(rf"Autodown: {instance} \(\S+\) terminated ([0-9.]+) s after its results were home", flat)
    check(m is not None and 0 <= float(m.group(1)) <= wall, f"the play says how soon {instance} ended after its results were home")
    left = aws_leftovers(moto)
    check(not left["instances"] and not left["security_groups"] and not left["key_pairs"] and not left["run_roles"]
          and not left["instance_profiles"] and len(left["buckets"]) == 1,
          f"the run's security group, key pair, role and profile went with it; the results bucket stays: {left}")
    check("still running nothing" in flat and "results s3://.../mocha-cloud/pipeline/" in flat
          and "remove it all ansible-playbook playbooks/teardown.yml -e aws_gpu_instance_teardown_run_id=pipeline "
              "-e teardown_delete_results=true" in flat, "the bill of run 2 says nothing runs, what is left and how to remove it")
    print(f"autodown: {instance} {inst['State']['Name']} {float(m.group(1)):.1f} s after its results were home "
          f"(container {ec2_host.container_state(container, env)})", flush=True)


def aws_leftovers(moto):
    ec2 = moto.client("ec2")
    tag = [{"Name": "tag:mocha-cloud:project", "Values": ["mocha-cloud"]}]
    live = [i["InstanceId"] for r in ec2.describe_instances(Filters=tag)["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] not in ("terminated", "shutting-down")]
    sgs = [g["GroupId"] for g in ec2.describe_security_groups(Filters=tag)["SecurityGroups"]]
    keys = [k["KeyName"] for k in ec2.describe_key_pairs(Filters=tag)["KeyPairs"]]
    iam = moto.client("iam")
    roles = [r["RoleName"] for r in iam.list_roles(PathPrefix="/mocha-cloud/")["Roles"]]
    profiles = [p["InstanceProfileName"] for p in iam.list_instance_profiles(PathPrefix="/mocha-cloud/")["InstanceProfiles"]]
    buckets = [b["Name"] for b in moto.client("s3").list_buckets()["Buckets"]]  # the results bucket goes when empty
    images = [i["ImageId"] for i in ec2.describe_images(Owners=["self"], Filters=tag)["Images"]]
    snapshots = [x["SnapshotId"] for x in ec2.describe_snapshots(OwnerIds=["self"], Filters=tag)["Snapshots"]]
    return {"instances": live, "security_groups": sgs, "key_pairs": keys, "run_roles": roles, "instance_profiles": profiles,
            "buckets": buckets, "images": images, "image_snapshots": snapshots}


def check_report(results):
    """report.md as a user reads it: its speed, wall time, instance hours and cost agree with the legs.json beside it."""
    run_legs = load_path(REPO / "plugins" / "module_utils" / "run_legs.py")
    report_check = load_path(REPO / "tests" / "pipeline" / "report_check.py")
    report = (results / "report.md").read_text()
    legs = run_legs.summarize(json.loads((results / "legs.json").read_text()))
    rows = [line for line in report.splitlines() if line.startswith(("| seconds per", "| wall time", "| instance hours",
                                                                     "| estimated cost"))]
    problems = report_check.report_disagreements(report, legs)
    check(not problems, "report.md agrees with legs.json: " + " / ".join(rows) + (f"; {problems}" if problems else ""))


def load_path(path):
    """A standard-library Python file of the repository, loaded by its path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What a launched instance carries that must not go into an image of it: the run key pair's authorized key (cloud-init
# writes it), a shell history, and the expiry timer with the instance it was armed on (the user data writes them). The
# container does not run cloud-init or the user data, so the pipeline puts them there as they would.
PRIVATE = {"/root/.ssh/authorized_keys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE mocha-cloud-pipeline",
           "/root/.bash_history": "sudo journalctl -u mocha-cloud-expiry.timer",
           "/etc/mocha-cloud/expiry-instance-id": "i-0123456789abcdef0",
           "/usr/local/sbin/mocha-cloud-expiry": "#!/bin/sh\nexit 0"}
# Written by the journey itself before the bake would see them, on a host that ran before: none exist at the first bake,
# and the committed image must still hold none.
NEVER_BAKED = ("/var/lib/mocha-cifar10/run", "/var/lib/mocha-cifar10/autodown")


def plant_private(container, env):
    script = " && ".join(f"mkdir -p {Path(path).parent} && printf '%s\\n' {json.dumps(body)} > {path}" for path, body in PRIVATE.items())
    sh(["podman", "exec", container, "sh", "-c", script], check=True, env=env)


def paths_present(container_or_image, env, image=False):
    """Which of PRIVATE and NEVER_BAKED exist in a container, or in a (baked) image run once."""
    test = "for p in " + " ".join(list(PRIVATE) + list(NEVER_BAKED)) + "; do [ -e $p ] && echo $p; done; true"
    argv = (["podman", "run", "--rm", "--network", "none", container_or_image, "sh", "-c", test] if image
            else ["podman", "exec", container_or_image, "sh", "-c", test])
    return sh(argv, env=env, capture_output=True, check=True).stdout.split()


def check_baked(moto, container, env, repo, log):
    """Run 1 (aws_gpu_instance_bake: always) baked its configured machine: one image of the project with its fingerprint,
    its container committed as that image (the FAKE EC2 host); the image holds none of the private or armed paths, and
    the instance has them all back."""
    ec2 = moto.client("ec2")
    images = ec2.describe_images(Owners=["self"], Filters=[{"Name": "tag:mocha-cloud:project", "Values": ["mocha-cloud"]}])["Images"]
    # The image stays pending (the pipeline releases it after this check): run 1 trained without waiting for it.
    check(len(images) == 1 and images[0]["State"] == "pending",
          f"run 1 baked one image of the project and trained while it was still pending: {images}")
    tags = {t["Key"]: t["Value"] for t in images[0].get("Tags", [])}
    check(tags.get("mocha-cloud:baked-by-run") == "pipeline" and len(tags.get("mocha-cloud:fingerprint", "")) == 20,
          f"the image records the run that baked it and the fingerprint: {tags}")
    snaps = ec2.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "tag:mocha-cloud:project", "Values": ["mocha-cloud"]}])["Snapshots"]
    check(len(snaps) == 1, f"its snapshot carries the project's tag: {[x['SnapshotId'] for x in snaps]}")
    image = f"{repo}:{images[0]['ImageId']}"
    check(sh(["podman", "image", "exists", image], env=env).returncode == 0, f"the image is the container committed: {image}")
    inside = paths_present(image, env, image=True)
    check(not inside, f"the image holds nothing private or armed (run, idle watch, keys, history, expiry): {inside}")
    check(sh(["podman", "run", "--rm", "--network", "none", image, "test", "-s", "/var/lib/mocha-cifar10/data/hdf5/train.hdf5"],
             env=env).returncode == 0, "the image holds the prepared CIFAR-10 HDF5 files")
    back = paths_present(container, env)
    check(all(p in back for p in PRIVATE), f"the instance got its keys, history and expiry timer back: {back}")
    flat = " ".join(log.split())
    check(f"Baked {images[0]['ImageId']} (pending) from" in flat and "this run bakes one after configure" in flat,
          "run 1 said it would bake, and what it baked (pending: EC2 finishes it while the run trains)")
    moto.set_image_pending(0, release=True)  # EC2 has finished it
    return images[0]["ImageId"]


def section(output, play):
    """The part of an ansible-playbook output from PLAY [PLAY] to the next PLAY."""
    m = re.search(rf"^PLAY \[{re.escape(play)}\] \*+$(.*?)(?=^PLAY |\Z)", output, re.M | re.S)
    return m.group(1) if m else ""


def first_iteration_after(results, started):
    """Seconds from STARTED (epoch) to the first TRAIN line of the run's training.log (the host's clock is UTC)."""
    import calendar

    text = (results / "training.log").read_text() if (results / "training.log").is_file() else ""
    m = re.search(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \| info \| Mocha\]:\s+TRAIN iter=", text, re.M)
    if not m:
        return None
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) - started


def journey_from_image(s, extra, ami, first_wall, container):
    """A later journey with the same settings and a new run id launches from the baked image: its instance is a
    container made from that image, configure changes nothing there, and it trains. Returns the image: line."""
    run_id = "pipeline-image"
    inventory = write_inventory(s.work, container, host=f"'{container}-' ~ ec2_instance_id", name="from-image")
    t0 = time.time()
    run = sh(["ansible-playbook", "-i", inventory, REPO / "site.yml", "-e", f"@{extra}", "-e",
              json.dumps({"aws_gpu_instance_run_id": run_id})], env=s.env, cwd=REPO, capture_output=True)
    wall = time.time() - t0
    (s.work / "run-from-image.log").write_text(run.stdout + run.stderr)
    print(run.stdout[-4000:], run.stderr[-2000:], sep="\n", flush=True)
    check(run.returncode == 0, f"the journey from the image succeeded (rc={run.returncode})")
    check_no_warnings(run.stdout + run.stderr, "the journey from the image")
    (inst,) = all_instances(s.moto, run_id)
    check(inst["ImageId"] == ami, f"{inst['InstanceId']} was launched from the baked image {ami}: {inst['ImageId']}")
    host = f"{container}-{inst['InstanceId']}"
    check(host in s.ec2_host.spawned, f"its machine is a container made from the image: {s.ec2_host.spawned}")
    flat = " ".join(run.stdout.split())
    check(f"Image: launching from {ami}" in flat and re.search(rf"image +{ami} \(.*?\), baked \S+ by run pipeline: configure only "
                                                               r"verifies it, \d+h\d+m saved", flat),
          "the play and the run plan say which image, when it was baked, by which run, and the time saved")
    configure = section(run.stdout, "Configure the GPU hosts")
    hosts = [h for h in recap(run.stdout) if h != "localhost"]
    check(len(hosts) == 1 and configure, f"the journey configured one host from the EC2 inventory: {hosts}")
    changed = len(re.findall(rf"^changed: \[{re.escape(hosts[0])}\]", configure, re.M))
    check(changed == 0, f"configure changed nothing on the machine from the image: changed={changed} "
                        f"{[t for t in changed_tasks(configure, hosts[0])]}")
    results = s.work / "artifacts" / hosts[0] / run_id
    metrics = json.loads((results / "metrics.json").read_text()) if (results / "metrics.json").is_file() else {}
    check(metrics.get("iterations", 0) > 0, f"it trained: {metrics.get('iterations')} iterations")
    seconds = first_iteration_after(results, t0)
    firsts = [first_iteration_after(d, s.first_started) for d in (s.work / "artifacts").glob("*/pipeline") if d.is_dir()]
    first = min([f for f in firsts if f is not None], default=None)
    check(seconds is not None and first is not None and 0 < seconds < wall, f"the first iteration's time is known: {seconds}, {first}")
    return (f"image: {ami} changed={changed} on {inst['InstanceId']}; first training iteration {seconds:.0f} s after the start "
            f"of the journey from the image, {first:.0f} s in the first journey ({100 * seconds / first:.0f}%; journey "
            f"{wall:.0f} s against {first_wall:.0f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the work directory and the container")
    ap.add_argument("--max-iter", type=int, default=400, help="CIFAR-10 iterations of the fake training")
    args = ap.parse_args()

    with stand_ins("pipeline", args.keep, imds=True, from_images=True) as s:
        work, (container,), moto, env = s.work, s.containers, s.moto, s.env
        if os.environ.get("MOCHA_PIPELINE_PROFILE"):
            env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        # An image stays pending (as EC2's does for minutes) until check_baked releases it.
        moto.set_image_pending(3600)
        start_container(container, env, work)
        gcc = install_gcc(container, env)
        first_boot(container, env, work)
        inventory = write_inventory(work, container)
        plant_private(container, env)
        # Paced so that the log's whole-second times measure the training (about 20 s for 400 iterations); each Pkg
        # job takes its time, and the METADATA clone goes on only after a poll showed it running (PKG_RELEASE).
        extra = write_vars(work, s.data, s.data_port, args.max_iter, s.imds_url, moto.endpoint, pace=FAKE_PACE,
                           pkg_seconds="init=10,add=3,test=4")
        playbook = ["ansible-playbook", "-i", inventory, REPO / "site.yml", "-e", f"@{extra}"]
        # The first zone has no capacity of the type: the launch must move on to the next one.
        moto.set_capacity({"g4dn.xlarge@us-east-1a": 0})

        times = []
        for n in (1, 2):
            if n == 1:
                s.first_started = time.time()
            t0 = time.monotonic()
            # The first journey keeps its instance, so that the second shows changed=0 on it; the second runs with the
            # shipped settings and ends it.
            # The first journey also bakes its configured machine (the third launches from it).
            keep = ["-e", json.dumps({"aws_gpu_instance_keep": True, "aws_gpu_instance_bake": "always"})] if n == 1 else []
            if n == 1:
                run = sh_releasing(playbook + keep, r"\[mocha-pkg-init running\]", lambda: sh(
                    ["podman", "exec", container, "touch", PKG_RELEASE], env=env, check=True), env=env, cwd=REPO)
            else:
                run = sh(playbook + keep, env=env, cwd=REPO, capture_output=True)
            times.append(time.monotonic() - t0)
            (work / f"run{n}.log").write_text(run.stdout + run.stderr)
            print(run.stdout[-6000:], run.stderr[-3000:], sep="\n", flush=True)
            check(run.returncode == 0, f"run {n} of site.yml succeeded (rc={run.returncode})")
            check_no_warnings(run.stdout + run.stderr, f"run {n} of site.yml")
            hosts = recap(run.stdout)
            check(any(h != "localhost" for h in hosts), f"run {n} configured a host from the EC2 inventory: {sorted(hosts)}")
            if n == 1:
                check_failover(moto, run.stdout)
                check_first_boot(work)
                check_julia_method(container, env, run.stdout, gcc)
                check_julia_runtime(container, env)
                check_pkg_jobs(run.stdout)
                (first,) = live_instances(moto)
                check_kept(run.stdout, first)
                baked = check_baked(moto, container, env, s.ec2_host.image_repo, run.stdout)
            if n == 2:
                check_measured(run.stdout, work)
                changed = {h: r["changed"] for h, r in hosts.items() if h != "localhost"}
                check(all(c == 0 for c in changed.values()), f"run 2 changed nothing on the instance: {changed}")
                check_autodown(run.stdout, moto, s.ec2_host, container, env, first, times[-1])

        # A third journey: the run finished and its instance is gone; its results are home, so nothing is launched and
        # nothing changes.
        third = sh(playbook, env=env, cwd=REPO, capture_output=True)
        (work / "run3.log").write_text(third.stdout + third.stderr)
        flat3 = " ".join(third.stdout.split())
        check(third.returncode == 0 and not live_instances(moto) and len(all_instances(moto)) == 1,
              f"run 3 launched nothing: {[i['InstanceId'] for i in all_instances(moto)]} (rc={third.returncode}) "
              + ("" if third.returncode == 0 else flat3[-1500:]))
        check("Run pipeline finished: its results come home from its S3 state; nothing is launched." in flat3
              and "already home" in flat3 and recap(third.stdout).get("localhost", {}).get("changed") == 0,
              f"run 3 found the results home and changed nothing: {recap(third.stdout)}")

        # artifacts/<host>/<run id>/ holds the results; artifacts/<run id>/state/ the run's state, kept by run id.
        tops = [p for p in (work / "artifacts").iterdir() if p.is_dir()] if (work / "artifacts").is_dir() else []
        host_dirs = [p for p in tops if not (p / "state").is_dir()]
        check(len(host_dirs) == 1, f"artifacts for one host: {[p.name for p in host_dirs]}")
        run_dirs = [p for p in host_dirs[0].iterdir() if p.is_dir()]
        check(len(run_dirs) >= 1, f"a run directory under {host_dirs[0]}")
        metrics_file = run_dirs[0] / "metrics.json"
        check(metrics_file.is_file(), f"{metrics_file} exists")
        metrics = json.loads(metrics_file.read_text())
        check(int(metrics.get("iterations", 0)) == args.max_iter, f"metrics.json shows {args.max_iter} iterations: {metrics.get('iterations')}")
        for name in ("learning_curve.png", "report.md"):
            check((run_dirs[0] / name).is_file(), f"{name} on the controller")
        check((metrics.get("instance_type"), metrics.get("availability_zone"), metrics.get("market"))
              == ("g4dn.xlarge", "us-east-1b", "on-demand")
              and "| g4dn.xlarge in us-east-1b, on-demand |" in (run_dirs[0] / "report.md").read_text(),
              f"metrics.json and report.md record the type, zone and market the launch got: {metrics.get('availability_zone')}")
        kept = work / "artifacts" / run_dirs[0].name / "state" / "state.json"
        check(kept.is_file(), f"the run's state kept on the controller: {kept}")
        state = json.loads(kept.read_text())
        fetched = sorted(p.name for p in run_dirs[0].glob("snapshot-*.jld"))
        check(state.get("run_id") == run_dirs[0].name and fetched == [state.get("snapshot")]
              and (kept.parent / str(state.get("snapshot"))).is_file(),
              f"state.json names the run and the final snapshot brought home: {state.get('run_id')}, {state.get('snapshot')} vs {fetched}")

        # The keeper shipped the run's state to S3 as it trained: the finished marker, the final snapshot, one leg.
        _, legs = check_shipped(moto, "pipeline", "finished", args.max_iter)
        check([leg.get("end") for leg in legs] == ["finished"] and legs[0].get("end_iteration") == args.max_iter,
              f"one leg, finished at iteration {args.max_iter}: {legs}")
        check(metrics.get("legs", {}).get("count") == 1 and metrics["legs"]["total_cost_usd"] is not None,
              f"metrics.json has the leg with its cost: {metrics.get('legs')}")
        check_report(run_dirs[0])

        from_image = journey_from_image(s, extra, baked, times[0], container)

        teardown_keeps_then_deletes_results(playbook, env, moto, "pipeline", images=1)

        first, second = times
        print(f"pipeline: first run {first:.1f} s, second run {second:.1f} s "
              f"({100 * second / first:.0f}% of the first; target <= 20%), second run changed=0", flush=True)
        print(from_image, flush=True)


if __name__ == "__main__":
    main()
