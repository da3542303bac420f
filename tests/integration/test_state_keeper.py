"""The state keeper (roles/cifar10/files/state_keeper.py) as the cifar10 role runs it: a subprocess beside the helpers
mocha.cloud.helper_files writes (mocha_log, run_legs, snapshot_state), following a training under the real jobctl
(rendered as tests/integration/test_jobctl.py renders it), shipping to moto's S3 (the `aws` fixture) and watching the
FAKE IMDS (tests/fakes/imds.py) for a spot notice.

The training is WRITER below: every ten iterations a Mocha v0.3.1 log line (Memento) in training.log and a snapshot
written in place like JLD (a 512-byte user block, the HDF5 signature, then the data). At the iteration it is told to hold, it stops in
the middle of the snapshot, signature already written (HDF5 writes its superblock first), until the test releases it
(or crashes there): a half-written snapshot that only the rule "never the newest while it may be written" keeps out.

The fake IMDS listens on 127.0.0.2, which the subprocesses' NO_PROXY does not name while their HTTP_PROXY is a closed
port (moto_server.aws_env): as on a host with a proxy for other traffic, a keeper that reached the metadata service
through the proxy would never see the notice. What these tests cannot show: the real two-minute warning's timing, an
instance's termination, S3's own latencies (moto answers at once, the keeper runs with --interval 0.2).
"""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from ansible_collections.mocha.cloud.plugins.modules import helper_files
from conftest import REPO, load_source
from moto_server import aws_env
from test_jobctl import render

imds = load_source(REPO / "tests" / "fakes" / "imds.py", "fake_imds")

BUCKET = "mocha-cloud-results-123456789012-us-east-1"
PREFIX = "mocha-cloud/r1/"
SIGNATURE = b"\x89HDF\r\n\x1a\n"
# moto's request log (werkzeug): '"PUT /<bucket>/<key> HTTP/1.1" 200', colour codes around some lines.
S3_WRITE = re.compile(r'"(PUT|DELETE) /' + re.escape(BUCKET) + r"/([^?\s]+)[^\"]* HTTP/1\.1")

WRITER = r'''"""Mocha-like training for tests/integration/test_state_keeper.py: RUN_DIR LAST HOLD hold|crash PACE LOAD."""
import os
import sys
import time

run_dir, last, hold, mode, pace, load = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), float(sys.argv[6])
snaps = os.path.join(run_dir, "snapshots")
os.makedirs(snaps, exist_ok=True)
done = sorted(int(name[9:15]) for name in os.listdir(snaps) if name.startswith("snapshot-") and name.endswith(".jld"))
it = done[-1] if done else 0
with open(os.path.join(run_dir, "training.log"), "a", buffering=1) as log:
    def say(msg):
        log.write("[" + time.strftime("%Y-%m-%d %H:%M:%S") + " | info | Mocha]: " + msg + "\n")

    if it:
        say(f"Loading existing model from {snaps}/snapshot-{it:06d}.jld")
    time.sleep(load)  # constructing the net
    while it < last:
        time.sleep(pace)
        it += 10
        say(f" TRAIN iter={it:06d} obj_val={2.3 - it / 1000:.8f}")
        say(f"Saving snapshot to snapshot-{it:06d}.jld...")
        with open(os.path.join(snaps, f"snapshot-{it:06d}.jld"), "wb") as snap:
            snap.write(b"Julia data file (HDF5), version 0.1.3".ljust(512, b"\0") + b"\x89HDF\r\n\x1a\n")
            snap.flush()
            if it == hold:
                if mode == "crash":
                    sys.exit(f"killed while writing snapshot-{it:06d}.jld")
                release = os.path.join(run_dir, f"release-{it:06d}")
                for _ in range(1200):
                    if os.path.exists(release):
                        break
                    time.sleep(0.05)
            snap.write(f"model at iteration {it}".encode().ljust(4096, b"."))
'''


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def tree(path):
    """{relative path: bytes} of every file under PATH ({} when there is no PATH)."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()} if path.exists() else {}


class World:
    """One test's stand-ins: moto's S3 with the results bucket, the FAKE IMDS, the keeper installed beside
    its helpers, trainings under jobctl and keepers as subprocesses (all stopped by close())."""

    def __init__(self, fake_aws, tmp):
        self.aws, self.tmp = fake_aws, tmp
        self.s3 = fake_aws.client("s3")
        self.s3.create_bucket(Bucket=BUCKET)
        install = tmp / "keeper"
        install.mkdir()
        shutil.copy(REPO / "roles" / "cifar10" / "files" / "state_keeper.py", install)
        for name in helper_files.HELPERS:  # what mocha.cloud.helper_files writes
            (install / f"{name}.py").write_text(helper_files.helper_source(name))
        self.keeper = install / "state_keeper.py"
        self.writer = tmp / "writer.py"
        self.writer.write_text(WRITER)
        self.imds_server, self.imds = imds.serve(bind="127.0.0.2")
        self.imds_url = f"http://127.0.0.2:{self.imds_server.server_address[1]}"
        self.env = dict(aws_env(fake_aws.endpoint, tmp), AWS_EC2_METADATA_SERVICE_ENDPOINT=self.imds_url)
        self.log_from = fake_aws.log.stat().st_size
        self.ctls, self.procs, self.readers = [], [], []

    def close(self):
        try:
            for reader in self.readers:
                reader.stop()
            for ctl in self.ctls:
                subprocess.run([str(ctl), "stop"], capture_output=True, check=False, timeout=30)
            for proc in self.procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(timeout=10)
        finally:
            self.imds_server.shutdown()
            self.imds_server.server_close()

    # --- the training -----------------------------------------------------------------------------------------
    def training(self, host, last, hold=0, mode="hold", pace=0.1, load=1.1):
        """(jobctl, run dir) of a training on HOST (not started): its run dir is the job's directory, as in the role.
        Like Mocha it writes nothing in its first second (LOAD: constructing the net), so a snapshot older than the
        training's start (jobctl's started_at, whole seconds) was there before it, as a keeper that comes late reads it."""
        argv = [sys.executable, str(self.writer), str(self.tmp / host), last, hold, mode, pace, load]
        ctl = render(self.tmp, host, [str(a) for a in argv])
        self.ctls.append(ctl)
        return ctl, ctl.parent

    def ctl(self, ctl, *verb):
        out = subprocess.run([str(ctl), *verb], capture_output=True, text=True, check=False, timeout=60)
        assert out.returncode == 0, (verb, out.stdout, out.stderr)
        return json.loads(out.stdout.splitlines()[-1]) if verb[0] in ("status", "wait") else out.stdout

    # --- the keeper ---------------------------------------------------------------------------------------------
    def argv(self, verb, run_dir, *extra):
        store = ["--bucket", BUCKET, "--prefix", PREFIX, "--region", "us-east-1", "--endpoint-url", self.aws.endpoint]
        return [sys.executable, str(self.keeper), verb, "--run-dir", str(run_dir), "--run-id", "r1", *store, *extra]

    def start_keeper(self, run_dir, ctl, host="host-a", instance="i-0aaaaaaaaaaaaaaaa", extra=()):
        leg = ["--host", host, "--instance-id", instance, "--instance-type", "g4dn.xlarge", "--market", "spot"]
        leg += ["--hourly-usd", "0.1578", "--on-demand-hourly-usd", "0.526"]
        log = open(self.tmp / f"keeper-{host}.log", "ab")  # noqa: SIM115 - the process writes it; closed with the test
        proc = subprocess.Popen(  # noqa: S603
            self.argv("watch", run_dir, "--ctl", str(ctl), "--interval", "0.2", *leg, *extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.tmp,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def keeper_log(self):
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.tmp.glob("keeper-*.log")))

    def ended(self, proc, timeout=30):
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the keeper did not exit within {timeout} s:\n{self.keeper_log()}")

    def restore(self, run_dir):
        return subprocess.run(self.argv("restore", run_dir), capture_output=True, text=True, env=self.env, timeout=60, check=False)

    def wait(self, what, cond, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = cond()
            if value:
                return value
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}:\n{self.keeper_log()}")

    # --- what the store holds -------------------------------------------------------------------------------------
    def get(self, name):
        try:
            return self.s3.get_object(Bucket=BUCKET, Key=PREFIX + name)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def put(self, name, body):
        self.s3.put_object(Bucket=BUCKET, Key=PREFIX + name, Body=body)

    def marker(self):
        raw = self.get("state.json")
        return json.loads(raw) if raw else {}

    def state_names(self):
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
        return sorted(o["Key"][len(PREFIX) :] for o in listed)

    def state_snapshots(self):
        return [n[len("state/") :] for n in self.state_names() if n.startswith("state/snapshot-")]

    def shipped(self, name):
        """NAME is the one snapshot under state/ and the marker names it (the keeper's round is over)."""
        return self.marker().get("snapshot") == name and self.state_snapshots() == [name]

    def legs(self):
        return json.loads(self.get("state/legs.json") or b'{"legs": []}')["legs"]

    def s3_writes(self):
        """[(PUT|DELETE, key under PREFIX)] in the order moto received them, since this test began."""
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.aws.log.read_bytes()[self.log_from :].decode(errors="replace"))
        return [(m.group(1), m.group(2)[len(PREFIX) :]) for m in S3_WRITE.finditer(text) if m.group(2).startswith(PREFIX)]


@pytest.fixture
def world(aws, tmp_path):
    w = World(aws, tmp_path)
    yield w
    w.close()


class Reader(threading.Thread):
    """A reader of the shipped state while the keeper ships (as restore reads it): the marker, then the snapshot it
    names, whose sha256 must match. A snapshot gone while the marker changed in between is a newer state, not a fault."""

    def __init__(self, world):
        super().__init__(daemon=True)
        self.s3 = world.aws.client("s3")
        self.halt, self.checked, self.problems = threading.Event(), 0, []
        world.readers.append(self)  # stopped by world.close() when the test fails first

    def get(self, name):
        try:
            return self.s3.get_object(Bucket=BUCKET, Key=PREFIX + name)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def run(self):
        try:
            self.read()
        except Exception as exc:  # noqa: BLE001 - reported by the test, not lost in a thread
            self.problems.append(f"the reader failed: {type(exc).__name__}: {exc}")

    def read(self):
        while not self.halt.is_set():
            raw = self.get("state.json")
            marker = json.loads(raw) if raw else {}
            if marker.get("snapshot"):
                body = self.get("state/" + marker["snapshot"])
                if body is None and self.get("state.json") == raw:
                    self.problems.append(f"state.json names {marker['snapshot']}, which is not in S3")
                elif body is not None and sha256(body) != marker.get("sha256"):
                    self.problems.append(f"state.json's sha256 for {marker['snapshot']} is not the object's")
                self.checked += 1
            time.sleep(0.01)

    def stop(self):
        self.halt.set()
        self.join(timeout=10)
        return self


def assert_marker_before_removal(writes):
    """The keeper's S3 writes: each new snapshot is followed by a marker before any older snapshot is removed, and the
    last marker comes after the last snapshot."""
    pending = None
    for method, name in writes:
        if name.startswith("state/snapshot-"):
            if method == "PUT":
                pending = name
            else:
                assert pending is None, f"{name} removed while state.json still named it ({pending} put, no marker since): {writes}"
        elif name == "state.json":
            pending = None
    assert pending is None, f"no state.json after {pending}: {writes}"


def assert_names_local(world, marker, run_dir):
    """The marker names a snapshot that is in S3, its sha256 and size are the object's and the host's file's."""
    body = world.get("state/" + marker["snapshot"])
    assert body is not None, marker
    assert marker["sha256"] == sha256(body) == sha256((run_dir / "snapshots" / marker["snapshot"]).read_bytes())
    assert marker["size"] == len(body) and body[512:520] == SIGNATURE
    assert marker["iteration"] == int(marker["snapshot"][9:15]) and marker["run_id"] == "r1"


# ----------------------------------------------------------------------------------------------------------------------
# Shipping while the training runs
# ----------------------------------------------------------------------------------------------------------------------
def test_ships_only_the_newest_complete_snapshot_and_the_marker_after_it(world):
    ctl, run = world.training("host-a", last=60, hold=40)
    world.ctl(ctl, "start")
    reader = Reader(world)
    reader.start()
    keeper = world.start_keeper(run, ctl)
    half = run / "snapshots" / "snapshot-000040.jld"
    world.wait("snapshot-000030 shipped and named, the older ones removed", lambda: world.shipped("snapshot-000030.jld"))
    assert half.read_bytes()[512:] == SIGNATURE  # half written, signature already there
    seen = set()
    deadline = time.monotonic() + 1.5  # several keeper rounds while snapshot-000040 is being written
    while time.monotonic() < deadline:
        seen.add(tuple(world.state_snapshots()))
        time.sleep(0.05)
    assert seen == {("snapshot-000030.jld",)} and half.stat().st_size == 520
    marker = world.marker()
    assert marker["state"] == "running" and marker["host"] == "host-a"
    assert_names_local(world, marker, run)
    assert world.ctl(ctl, "status")["running"]

    (run / "release-000040").touch()
    assert world.ended(keeper) == 0
    assert not reader.stop().problems and reader.checked >= 5, (reader.problems, reader.checked)
    final = world.marker()
    assert (final["state"], final["snapshot"]) == ("finished", "snapshot-000060.jld")
    assert_names_local(world, final, run)
    assert world.state_names() == ["state.json", "state/legs.json", "state/snapshot-000060.jld", "state/training.log"]
    assert world.get("state/training.log") == (run / "training.log").read_bytes()
    writes = world.s3_writes()
    assert_marker_before_removal(writes)
    shipped = [n for m, n in writes if m == "PUT" and n.startswith("state/snapshot-")]
    assert len(shipped) == len(set(shipped)), shipped  # each snapshot uploaded once


def test_a_training_that_finishes_closes_its_leg(world):
    ctl, run = world.training("host-a", last=50, pace=0.05)
    world.ctl(ctl, "start")
    keeper = world.start_keeper(run, ctl, extra=["--leg-started-at", "2026-01-02T05:04:05+02:00"])  # ec2_launch_time
    assert world.ended(keeper) == 0
    assert world.ctl(ctl, "status")["state"].startswith("finished")
    marker = world.marker()
    assert (marker["state"], marker["iteration"], marker["snapshot"]) == ("finished", 50, "snapshot-000050.jld")
    assert marker["instance_id"] == "i-0aaaaaaaaaaaaaaaa" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", marker["updated_at"])
    assert_names_local(world, marker, run)
    (leg,) = world.legs()
    assert leg == json.loads((run / "legs.json").read_text())["legs"][0]
    assert (leg["leg"], leg["host"], leg["end"], leg["start_iteration"], leg["end_iteration"]) == (1, "host-a", "finished", 0, 50)
    assert (leg["instance_type"], leg["market"], leg["hourly_usd"], leg["on_demand_hourly_usd"]) == ("g4dn.xlarge", "spot", 0.1578, 0.526)
    assert leg["started_at"] == "2026-01-02T03:04:05Z"  # the instance's launch, as legs.json writes times


def test_a_launch_time_that_is_not_iso_8601_stops_the_keeper_at_once(world, tmp_path):
    out = subprocess.run(
        world.argv("watch", tmp_path / "run", "--ctl", "/bin/true", "--leg-started-at", "yesterday"),
        capture_output=True,
        text=True,
        env=world.env,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2 and "--leg-started-at 'yesterday' is not an ISO 8601 time" in out.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("how", ["crash", "stop"])
def test_a_training_cut_short_mid_snapshot_ships_the_one_before(world, how):
    """A training that fails or is stopped while writing a snapshot leaves it half written, signature included: only
    the snapshot before it is complete."""
    ctl, run = world.training("host-a", last=1000, hold=30, mode="hold" if how == "stop" else "crash")
    world.ctl(ctl, "start")
    keeper = world.start_keeper(run, ctl)
    half = run / "snapshots" / "snapshot-000030.jld"
    world.wait("the training at snapshot-000030", lambda: half.exists() and half.stat().st_size == 520)
    if how == "stop":
        world.ctl(ctl, "stop")
    assert world.ended(keeper) == 0
    end = {"crash": "failed", "stop": "interrupted"}[how]
    marker = world.marker()
    assert (marker["state"], marker["snapshot"], marker["iteration"]) == (end, "snapshot-000020.jld", 20)
    assert_names_local(world, marker, run)
    assert world.state_snapshots() == ["snapshot-000020.jld"] and half.stat().st_size == 520
    (leg,) = world.legs()
    assert (leg["end"], leg["end_iteration"]) == (end, 30)


# ----------------------------------------------------------------------------------------------------------------------
# A spot interruption notice
# ----------------------------------------------------------------------------------------------------------------------
def test_a_spot_notice_stops_the_training_ships_and_exits(world):
    ctl, run = world.training("host-a", last=1000, hold=30)
    world.ctl(ctl, "start")
    keeper = world.start_keeper(run, ctl, extra=["--watch-spot"])  # IMDS from the environment
    world.wait("snapshot-000020 shipped", lambda: world.marker().get("snapshot") == "snapshot-000020.jld")
    spot = ("GET", "/latest/meta-data/spot/instance-action")
    world.wait("the keeper asking for a notice", lambda: world.imds.requests.count(spot) >= 2)
    assert keeper.poll() is None  # no notice yet (404): it goes on
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
        urllib.request.Request(world.imds_url + "/_fake/interrupt", method="POST"), timeout=5
    ) as resp:
        assert resp.status == 200
    assert world.ended(keeper) == 0
    assert "spot interruption notice" in world.keeper_log()

    status = world.ctl(ctl, "status")
    assert not status["running"] and status["state"].startswith("stopped"), status
    marker = world.marker()
    assert (marker["state"], marker["snapshot"], marker["iteration"]) == ("interrupted", "snapshot-000020.jld", 20)
    assert_names_local(world, marker, run)
    assert world.state_snapshots() == ["snapshot-000020.jld"]  # not the half-written snapshot-000030
    (leg,) = world.legs()
    assert leg == json.loads((run / "legs.json").read_text())["legs"][0]
    assert (leg["end"], leg["start_iteration"], leg["end_iteration"]) == ("interrupted", 0, 30)
    asked = list(world.imds.requests)
    assert asked[0] == ("PUT", "/latest/api/token") and spot in asked  # IMDSv2: a token before anything
    assert set(asked) == {("PUT", "/latest/api/token"), spot}
    assert_marker_before_removal(world.s3_writes())


# ----------------------------------------------------------------------------------------------------------------------
# Restore
# ----------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped(fake_aws, tmp_path_factory):
    """What the keeper shipped for a training that finished at iteration 30 ({key under PREFIX: bytes}), and its run
    directory; each test puts it back into its own (emptied) S3."""
    fake_aws.reset()
    w = World(fake_aws, tmp_path_factory.mktemp("shipped"))
    try:
        ctl, run = w.training("host-a", last=30, pace=0.02)
        w.ctl(ctl, "start")
        w.ctl(ctl, "wait", "30")
        assert w.ended(w.start_keeper(run, ctl)) == 0
        objects = {name: w.get(name) for name in w.state_names()}
    finally:
        w.close()
    assert json.loads(objects["state.json"])["snapshot"] == "snapshot-000030.jld"
    return objects, run


def put_back(world, shipped):
    for name, body in shipped[0].items():
        world.put(name, body)


def test_restore_into_an_empty_run_dir(world, shipped):
    put_back(world, shipped)
    run = world.tmp / "host-b"
    out = world.restore(run)
    assert out.returncode == 0, out.stderr
    said = json.loads(out.stdout)
    assert (said["restored"], said["snapshot"], said["iteration"], said["host"]) == (True, "snapshot-000030.jld", 30, "host-a")
    assert said["from"] == f"s3://{BUCKET}/{PREFIX}state/snapshot-000030.jld"
    source = shipped[1]
    assert tree(run) == {
        "snapshots/snapshot-000030.jld": (source / "snapshots" / "snapshot-000030.jld").read_bytes(),
        "training.log": (source / "training.log").read_bytes(),
        "legs.json": (source / "legs.json").read_bytes(),
    }

    # The controller copy at a later iteration is newer: the S3 state is left where it is (exit 3), nothing written;
    # at the same iteration the S3 state is taken.
    newer = world.tmp / "host-c"
    out = subprocess.run(world.argv("restore", newer, "--at-least", "31"), capture_output=True, text=True, env=world.env,
                         timeout=60, check=False)
    assert out.returncode == 3 and json.loads(out.stdout) == {
        "restored": False, "reason": "the controller copy (iteration 31) is newer than the S3 state (iteration 30)"}, out
    assert not newer.exists()
    out = subprocess.run(world.argv("restore", newer, "--at-least", "30"), capture_output=True, text=True, env=world.env,
                         timeout=60, check=False)
    assert out.returncode == 0 and json.loads(out.stdout)["snapshot"] == "snapshot-000030.jld", out


def corrupt_body(world, shipped):
    body = bytearray(shipped[0]["state/snapshot-000030.jld"])
    body[600] ^= 0xFF  # one byte of the data: the signature is intact, the sha256 is not
    world.put("state/snapshot-000030.jld", bytes(body))
    return "is corrupt: sha256"


def no_signature(world, shipped):
    body = shipped[0]["state/snapshot-000030.jld"].replace(SIGNATURE, b"\0" * len(SIGNATURE))
    world.put("state/snapshot-000030.jld", body)
    marker = json.loads(shipped[0]["state.json"])
    world.put("state.json", json.dumps(dict(marker, sha256=sha256(body))).encode())  # a sha256 that matches
    return "is corrupt: no HDF5 signature"


def missing(world, shipped):
    world.s3.delete_object(Bucket=BUCKET, Key=PREFIX + "state/snapshot-000030.jld")
    return "named in state.json is missing"


@pytest.mark.parametrize("damage", [corrupt_body, no_signature, missing], ids=lambda f: f.__name__)
def test_restore_refuses_a_snapshot_it_cannot_trust(world, shipped, damage):
    put_back(world, shipped)
    expected = damage(world, shipped)
    run = world.tmp / "host-b"
    (run / "snapshots").mkdir(parents=True)
    (run / "cifar10.jl").write_text("# rendered before the restore\n")
    before = tree(run)
    out = world.restore(run)
    assert out.returncode == 1, (out.stdout, out.stderr)
    message = " ".join(out.stderr.split())
    assert f"Snapshot s3://{BUCKET}/{PREFIX}state/snapshot-000030.jld {expected}" in message
    assert f"Delete s3://{BUCKET}/{PREFIX} to start the run over" in message and "sha256 in state.json" in message
    assert tree(run) == before and sorted(p.name for p in run.rglob("*")) == ["cifar10.jl", "snapshots"]  # no partial file
    empty = world.tmp / "never-made"
    assert world.restore(empty).returncode == 1 and not empty.exists()  # not even the directory


@pytest.mark.parametrize(
    "marker, code, said",
    [
        (None, 3, "no state.json under"),
        ({"state": "running", "iteration": 0, "run_id": "r1", "snapshot": None}, 3, "names no snapshot yet"),
        ({"state": "running", "iteration": 30, "run_id": "r2", "snapshot": "snapshot-000030.jld"}, 1, "the state of run 'r2', not 'r1'"),
        (b"{not json", 1, "is not a JSON object (damaged)"),
    ],
    ids=["nothing shipped", "no snapshot yet", "another run's state", "damaged marker"],
)
def test_restore_without_a_usable_marker(world, shipped, marker, code, said):
    if marker is not None:
        put_back(world, shipped)
        world.put("state.json", marker if isinstance(marker, bytes) else json.dumps(marker).encode())
    run = world.tmp / "host-b"
    out = world.restore(run)
    assert out.returncode == code, (out.stdout, out.stderr)
    assert said in (out.stdout if code == 3 else out.stderr)
    if code == 3:
        assert json.loads(out.stdout)["restored"] is False
    assert not run.exists()


def s3_reads(world):
    """[(GET|HEAD, key under PREFIX, status)] in the order moto received them, since this test began."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", world.aws.log.read_bytes()[world.log_from :].decode(errors="replace"))
    found = re.finditer(r'"(GET|HEAD) /' + re.escape(BUCKET) + r"/([^?\s]+)[^\"]* HTTP/1\.1\" (\d+)", text)
    return [(m.group(1), m.group(2)[len(PREFIX) :], int(m.group(3))) for m in found if m.group(2).startswith(PREFIX)]


def marker_of(shipped, **changes):
    return dict(json.loads(shipped[0]["state.json"]), **changes)


# What an instance may put under its own prefix, each read within limits and refused before the run directory is
# touched (and before a body larger than what the marker promises is downloaded).
HOSTILE = {
    "a marker of 2 MB": (lambda shipped: json.dumps(marker_of(shipped)).encode() + b" " * (2 << 20),
                         "state.json is larger than 65536 bytes"),
    "a marker without a run id": (lambda shipped: json.dumps({k: v for k, v in marker_of(shipped).items() if k != "run_id"}).encode(),
                                  "state.json is the state of no named run, not 'r1'"),
    "a snapshot larger than the marker says": (lambda shipped: json.dumps(marker_of(shipped, size=10)).encode(),
                                               "state/snapshot-000030.jld is larger than 10 bytes"),
    "a marker without a size": (lambda shipped: json.dumps({k: v for k, v in marker_of(shipped).items() if k != "size"}).encode(),
                                "state.json gives no size for snapshot-000030.jld"),
    "a name with a trailing newline": (lambda shipped: json.dumps(marker_of(shipped, snapshot="snapshot-000030.jld\n")).encode(),
                                       "state.json names 'snapshot-000030.jld\\n', not a snapshot-NNNNNN.jld"),
    "a name in Arabic-Indic digits": (lambda shipped: json.dumps(marker_of(shipped, snapshot="snapshot-\u0663\u0663.jld")).encode(),
                                      "state.json names 'snapshot-\u0663\u0663.jld', not a snapshot-NNNNNN.jld"),
    "a state trained with other settings": (
        lambda shipped: json.dumps(marker_of(shipped, settings={"lr_stages": [[300, 0.01]], "momentum": 0.9, "weight_decay": 0.004,
                                                               "batch_size": 100})).encode(),
        f"The state in s3://{BUCKET}/{PREFIX} was trained with other settings (lr_stages [[300, 0.01]],"),
}


def test_restore_reads_what_the_instance_wrote_within_limits(world, shipped):
    settings = '{"lr_stages": [[300, 0.001]], "momentum": 0.9, "weight_decay": 0.004, "batch_size": 100}'
    run = world.tmp / "host-b"
    for case, (make, said) in HOSTILE.items():
        put_back(world, shipped)
        marker = make(shipped)
        world.put("state.json", marker)
        if "Arabic" in case:  # the object it names is there, and a good snapshot
            world.put("state/" + json.loads(marker)["snapshot"], shipped[0]["state/snapshot-000030.jld"])
        world.log_from = world.aws.log.stat().st_size
        out = subprocess.run(world.argv("restore", run, "--settings", settings), capture_output=True, text=True,
                             env=world.env, timeout=60, check=False)
        assert out.returncode == 1, (case, out.stdout, out.stderr)
        assert said in " ".join(out.stderr.split()), (case, out.stderr)
        assert "Traceback" not in out.stderr and not run.exists(), case
        reads = s3_reads(world)
        assert not any(verb == "GET" and key.startswith("state/snapshot-") for verb, key, _ in reads), (case, reads)  # never downloaded
        if "2 MB" in case:
            assert [r for r in reads if r[1] == "state.json"] == [("HEAD", "state.json", 200)]  # refused by its size, unread


def test_the_keeper_reads_and_writes_only_a_bucket_of_its_account(world, shipped):
    """--expected-bucket-owner goes with every S3 call: the results bucket of another account answers 403 and nothing of
    it is read (the role passes the instance's own account; here the bucket is 123456789012's)."""
    put_back(world, shipped)
    run = world.tmp / "host-b"
    out = subprocess.run(world.argv("restore", run, "--expected-bucket-owner", "111122223333"), capture_output=True, text=True,
                         env=world.env, timeout=60, check=False)
    assert out.returncode == 1 and f"Could not read the run's state in s3://{BUCKET}/{PREFIX} (ClientError" in out.stderr, out.stderr
    assert "403" in out.stderr and not run.exists()
    out = subprocess.run(world.argv("restore", run, "--expected-bucket-owner", "123456789012"), capture_output=True, text=True,
                         env=world.env, timeout=60, check=False)
    assert out.returncode == 0 and json.loads(out.stdout)["restored"], out.stderr


def test_restore_says_what_to_check_when_the_store_cannot_be_read(world):
    world.s3.delete_bucket(Bucket=BUCKET)
    run = world.tmp / "host-b"
    out = world.restore(run)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert f"Could not read the run's state in s3://{BUCKET}/{PREFIX} (NoSuchBucket" in out.stderr
    assert "Check the bucket, the prefix, the region and the credentials" in out.stderr and not run.exists()


# ----------------------------------------------------------------------------------------------------------------------
# A second host
# ----------------------------------------------------------------------------------------------------------------------
def test_a_second_host_closes_the_lost_leg_and_opens_its_own(world):
    ctl_a, run_a = world.training("host-a", last=1000, hold=40)
    world.ctl(ctl_a, "start")
    keeper_a = world.start_keeper(run_a, ctl_a, "host-a", "i-0aaaaaaaaaaaaaaaa")
    world.wait("snapshot-000030 shipped from host-a", lambda: world.marker().get("snapshot") == "snapshot-000030.jld")
    world.wait("host-a's leg shipped", lambda: world.legs() and world.legs()[0]["end_iteration"] == 40)
    keeper_a.kill()  # host-a is lost: keeper and training die without a word
    keeper_a.wait(timeout=10)
    world.ctl(ctl_a, "stop")

    ctl_b, run_b = world.training("host-b", last=1000, hold=50)
    out = world.restore(run_b)
    assert out.returncode == 0 and json.loads(out.stdout)["iteration"] == 30, (out.stdout, out.stderr)
    world.ctl(ctl_b, "start")
    started = world.ctl(ctl_b, "status")["started_at"]
    # The keeper comes late (the play that started the training was cut short): the training has resumed from
    # snapshot-000030, written snapshot-000040 and is in the middle of snapshot-000050.
    half = run_b / "snapshots" / "snapshot-000050.jld"
    world.wait("host-b's training at snapshot-000050", lambda: half.exists() and half.stat().st_size == 520)
    assert "Loading existing model from " + str(run_b / "snapshots" / "snapshot-000030.jld") in (run_b / "training.log").read_text()
    keeper_b = world.start_keeper(run_b, ctl_b, "host-b", "i-0bbbbbbbbbbbbbbbb")
    world.wait("host-b's leg shipped", lambda: len(world.legs()) == 2)
    first, second = world.legs()
    assert (first["leg"], first["host"], first["end"], first["start_iteration"]) == (1, "host-a", "lost", 0)
    assert (second["leg"], second["host"], second["instance_id"], second["end"]) == (2, "host-b", "i-0bbbbbbbbbbbbbbbb", "running")
    assert second["start_iteration"] == 30  # the restored iteration, not what host-b wrote since
    assert second["started_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))  # the training's start
    world.wait("host-b's snapshot shipped and named, host-a's removed", lambda: world.shipped("snapshot-000040.jld"))
    assert (world.marker()["host"], world.marker()["snapshot"]) == ("host-b", "snapshot-000040.jld")

    world.ctl(ctl_b, "stop")  # the operator stops it
    assert world.ended(keeper_b) == 0
    marker = world.marker()
    assert (marker["state"], marker["snapshot"], marker["host"]) == ("interrupted", "snapshot-000040.jld", "host-b")
    assert_names_local(world, marker, run_b)
    first, second = world.legs()
    assert first["end"] == "lost" and (second["end"], second["start_iteration"], second["end_iteration"]) == ("interrupted", 30, 50)
    assert json.loads((run_b / "legs.json").read_text())["legs"] == [first, second]
