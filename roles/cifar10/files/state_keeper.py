#!/usr/bin/env python3
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mocha-cloud state keeper: keeps a training run's state off its host while it trains, and watches for spot
interruptions. The cifar10 role installs it beside the collection's own helpers (mocha.cloud.helper_files writes
mocha_log.py, run_legs.py and snapshot_state.py into this directory: the controller's log reader, time parser and
snapshot rule, not copies) and runs it under the same supervisor as the training (jobctl), started with it.

    state_keeper.py watch   --run-dir DIR --ctl JOBCTL --run-id ID [store] [leg] [--watch-spot] [--interval S]
    state_keeper.py once    the same arguments: one round, then exit (tests; a last ship)
    state_keeper.py restore --run-dir DIR --run-id ID store [--at-least N]: the run's S3 state into DIR, checked first,
    unless the controller copy is newer (its iteration N: then nothing is written, exit 3)
    (--settings JSON, both verbs: the training settings, recorded in the marker; restore refuses a state trained with
    others)

store: --bucket B --prefix P --region R [--expected-bucket-owner ACCOUNT] [--endpoint-url URL]; without --bucket nothing
leaves the host (the controller fetches the state after each wait) and only legs.json is kept. With ACCOUNT every S3
call passes it as ExpectedBucketOwner: a bucket of that name in another account answers 403, never receives the state.
leg: --host H --instance-id I --instance-type T --market M --hourly-usd X --on-demand-hourly-usd Y [--leg-started-at T]
(T: when the instance was launched, ISO 8601; a new leg's hours count from there, as the bill does).

Each round of watch:
1. the training's status (JOBCTL status, one JSON line);
2. the newest complete snapshot (snapshot_state.newest_complete: a newer one exists, or the run has ended, and the
   file carries the HDF5 signature; a file Mocha may still be writing is never taken), uploaded to
   s3://B/P state/<name> when it is not there yet;
3. training.log and legs.json uploaded when they changed;
4. the marker P state.json after them, so a reader never finds a marker naming a snapshot that is not there:
   {state, iteration, updated_at, run_id, snapshot, sha256, size, host, instance_id, time, settings};
5. then the older snapshots under state/ are removed (the marker no longer names them);
6. with --watch-spot, the instance metadata (IMDSv2: a session token from PUT /latest/api/token, then
   GET /latest/meta-data/spot/instance-action, never through a proxy; --imds defaults to
   AWS_EC2_METADATA_SERVICE_ENDPOINT as botocore reads it, else http://169.254.169.254): a 200 is the two-minute
   notice. The training is stopped, the state shipped, the marker and the leg say interrupted, and the keeper exits.
When the training has ended the keeper ships once more and exits: the newest snapshot counts only when it finished;
a training that failed or was stopped may have died in the middle of writing its newest snapshot (HDF5 writes its
signature first), so the rule of a running training still holds for it.

legs.json in the run directory holds one entry per host the run trained on (a leg): where, from when to when, from
which iteration to which, how it ended (running, finished, failed, interrupted, lost), and the hourly prices the
controller gave. The report turns it into hours and cost per leg. A keeper that finds the training already running
(started late, or restarted) dates a new leg from the training's start and from the snapshot it resumed from (the
newest one that was there when it started), not from what the training has written since.

S3 is reached with boto3 and the default credential chain (on EC2: the instance profile through IMDS); no key is ever
written on the host. Only the standard library and boto3.
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
# The collection's module_utils, written beside this file by mocha.cloud.helper_files.
import mocha_log  # noqa: E402
import run_legs  # noqa: E402
import snapshot_state  # noqa: E402

STATE_DIR = "state/"
MARKER = "state.json"
IMDS_TOKEN_TTL = "21600"
IMDS_DEFAULT = "http://169.254.169.254"
SPOT_SHIP_SECONDS = 90  # of the two minutes a spot notice gives: stop the training, then ship until this has passed


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017


def say(msg):
    sys.stdout.write(f"[state-keeper {now_iso()}] {msg}\n")
    sys.stdout.flush()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def write_atomic(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".keeper-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------------
# The training, its log and its legs
# ------------------------------------------------------------------------------------------------
def job_status(ctl):
    """The training's jobctl status, or {} when jobctl cannot say."""
    try:
        # errors="replace": the status carries the training log's last line, which may hold bytes that are not UTF-8.
        out = subprocess.run([ctl, "status"], capture_output=True, text=True, errors="replace", timeout=60, check=False).stdout
        return json.loads(out.strip().splitlines()[-1])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return {}


def job_end(status):
    """finished, failed, stopped or '' (still going) from a jobctl status."""
    if status.get("running"):
        return ""
    state = str(status.get("state") or "")
    if state.startswith("finished"):
        return "finished"
    if state.startswith("stopped") or state.startswith("interrupted"):
        return "stopped"
    return "failed" if state else ""


def job_started(status):
    """The training's last start (epoch seconds, jobctl's started_at; it stays after the end), or None."""
    started = status.get("started_at")
    return started if isinstance(started, int) and 0 < started <= time.time() else None


JOB_START = re.compile(r"^\[jobctl [^\]]*\] starting ")


def log_tail(log_path, size):
    """The lines of the last SIZE bytes of the log ([] when it cannot be read)."""
    try:
        with open(log_path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(log_path) - size))
            return handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def loaded_iteration(log_path):
    """The snapshot the training's last start loaded, as Mocha says it in the log ("Loading existing model from
    .../snapshot-NNNNNN.jld" after jobctl's "starting" line): its iteration, 0 when it loaded none, None when the log
    does not say (no start line in its last 256 KiB)."""
    lines = log_tail(log_path, 262144)
    starts = [i for i, line in enumerate(lines) if JOB_START.match(line)]
    if not starts:
        return None
    return mocha_log.start_iteration("\n".join(lines[starts[-1] + 1:]))


def resumed_iteration(snapdir, started, log_path=None):
    """The iteration a training started at STARTED (epoch seconds) resumed from: the snapshot Mocha says it loaded
    after that start (the log), else the newest snapshot with the HDF5 signature that was there before it started
    (jobctl's started_at has whole seconds: a snapshot of that second counts; Mocha takes far longer than that to write
    its first). Without STARTED, the newest complete one."""
    loaded = loaded_iteration(log_path) if log_path else None
    if loaded is not None:
        return loaded
    if started is None:
        return snapshot_state.newest_complete(snapdir, running=False)["iteration"] or 0
    for iteration, name in reversed(snapshot_state.list_snapshots(snapdir)):
        path = os.path.join(snapdir, name)
        try:
            if int(os.path.getmtime(path)) <= started and snapshot_state.hdf5_signature_offset(path) is not None:
                return iteration
        except OSError:
            continue
    return 0


def iso_utc(text):
    """An ISO 8601 time (2024-05-01T12:34:56+00:00, ...Z, or without a zone: UTC) as legs.json writes times."""
    moment = run_legs.parse_time(text)
    if moment is None:
        raise ValueError(f"not an ISO 8601 time: {text!r}")
    return iso_epoch(moment.timestamp())


def iso_epoch(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017


def last_logged_iteration(log_path):
    """The last iteration the training log shows (its training summaries), 0 when none."""
    return mocha_log.last_iteration("\n".join(log_tail(log_path, 65536)))


def read_legs(path):
    try:
        with open(path) as handle:
            doc = json.load(handle)
        legs = doc.get("legs") if isinstance(doc, dict) else None
        return [leg for leg in legs if isinstance(leg, dict)] if isinstance(legs, list) else []
    except (OSError, ValueError):
        return []


def write_legs(path, legs):
    write_atomic(path, (json.dumps({"legs": legs}, indent=2) + "\n").encode())


def price(value):
    return None if value in (None, "") else float(value)


def open_leg(path, args, start_iteration, started_at=None):
    """The leg this keeper is on: the open one of this host and instance, else a new one from STARTED_AT (ISO time;
    now when None) and START_ITERATION. A leg left open by another host (it died without a word) is closed as lost at
    the last time its keeper wrote."""
    legs = read_legs(path)
    mine = None
    for leg in legs:
        if leg.get("end") == "running":
            if mine is None and leg.get("host") == args.host and leg.get("instance_id", "") == args.instance_id:
                mine = leg
            else:
                leg["end"] = "lost"
    if mine is not None:
        write_legs(path, legs)
        return legs, mine
    leg = {
        "leg": len(legs) + 1,
        "host": args.host,
        "instance_id": args.instance_id,
        "instance_type": args.instance_type,
        "market": args.market,
        "hourly_usd": price(args.hourly_usd),
        "on_demand_hourly_usd": price(args.on_demand_hourly_usd),
        "started_at": started_at or now_iso(),
        "ended_at": now_iso(),
        "start_iteration": start_iteration,
        "end_iteration": start_iteration,
        "end": "running",
    }
    legs.append(leg)
    write_legs(path, legs)
    return legs, leg


# ------------------------------------------------------------------------------------------------
# S3 (boto3, default credential chain)
# ------------------------------------------------------------------------------------------------
class TooLarge(Exception):
    """A stored object larger than a reader takes, or not of the size state.json gives."""

    def __init__(self, name, length, limit, size=None):
        self.name = name
        what = f"{length} bytes, state.json says {size}" if size is not None and length <= limit else f"larger than {limit} bytes ({length})"
        super().__init__(f"{name} is {what}")


class Store:
    def __init__(self, args):
        import boto3  # on the host only when a bucket is used (the role installs it)
        from botocore.config import Config

        self.bucket, self.prefix = args.bucket, args.prefix
        # Every call on the bucket: S3 refuses (403) when the bucket is not this account's.
        self.on = {"Bucket": args.bucket}
        if args.expected_bucket_owner:
            self.on["ExpectedBucketOwner"] = args.expected_bucket_owner
        self.s3 = boto3.client(
            "s3",
            region_name=args.region,
            endpoint_url=args.endpoint_url or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60),
        )
        self.sent = {}

    def key(self, name):
        return self.prefix + name

    def put(self, name, data, **meta):
        self.s3.put_object(**self.on, Key=self.key(name), Body=data, Metadata={k: str(v) for k, v in meta.items()})

    def put_file(self, name, path, **meta):
        """Upload the file at PATH as NAME unless this keeper already sent the same bytes; (sha256, size) of them."""
        with open(path, "rb") as handle:
            data = handle.read()
        digest = sha256_bytes(data)
        if self.sent.get(name) != digest:
            self.put(name, data, sha256=digest, **meta)
            self.sent[name] = digest
        return digest, len(data)

    def get(self, name, limit, size=None):
        """The object NAME (None when there is none), refused before its body is read when it is larger than LIMIT
        bytes or, with SIZE, of another size (TooLarge); never more than that is read, whatever the store sends."""
        from botocore.exceptions import ClientError

        missing = ("NoSuchKey", "404", "NotFound")
        try:
            length = self.s3.head_object(**self.on, Key=self.key(name))["ContentLength"]
            if length > limit or (size is not None and length != size):
                raise TooLarge(name, length, limit, size)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in missing:
                raise
            # HEAD says only 404, for a missing bucket too: the GET says which (NoSuchKey, or an error raised).
        try:
            data = self.s3.get_object(**self.on, Key=self.key(name))["Body"].read(limit + 1)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in missing:
                return None
            raise
        if len(data) > limit or (size is not None and len(data) != size):
            raise TooLarge(name, len(data), limit, size)  # replaced between the two calls
        return data

    def state_snapshots(self):
        found = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(**self.on, Prefix=self.key(STATE_DIR))
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(self.key(STATE_DIR)) :]
                if snapshot_state.SNAPSHOT_NAME.match(name):
                    found.append(name)
        return found

    def delete(self, name):
        self.s3.delete_object(**self.on, Key=self.key(name))


# ------------------------------------------------------------------------------------------------
# IMDSv2
# ------------------------------------------------------------------------------------------------
# The metadata service is reached directly, never through a proxy: HTTP_PROXY may be set on the host for other
# traffic, and a proxy either cannot reach the link-local address or adds X-Forwarded-For, which IMDSv2 refuses.
IMDS_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def spot_notice(imds):
    """The spot interruption notice ({'action', 'time'}) when one is posted, else None. IMDSv2 only: a session token
    first; any failure to reach the metadata service reads as no notice."""
    try:
        req = urllib.request.Request(imds.rstrip("/") + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": IMDS_TOKEN_TTL})
        with IMDS_OPENER.open(req, timeout=2) as resp:
            token = resp.read().decode()
        req = urllib.request.Request(imds.rstrip("/") + "/latest/meta-data/spot/instance-action", headers={"X-aws-ec2-metadata-token": token})
        with IMDS_OPENER.open(req, timeout=2) as resp:
            body = resp.read().decode()
    except (urllib.error.URLError, OSError, ValueError):
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        doc = {"action": body.strip()[:40]}
    return doc if isinstance(doc, dict) else {"action": str(doc)[:40]}


# ------------------------------------------------------------------------------------------------
# The keeper
# ------------------------------------------------------------------------------------------------
class Keeper:
    def __init__(self, args):
        self.args = args
        self.snapdir = os.path.join(args.run_dir, "snapshots")
        self.log = os.path.join(args.run_dir, "training.log")
        self.legs_path = os.path.join(args.run_dir, "legs.json")
        self.store = Store(args) if args.bucket else None
        self.shipped = None  # {snapshot, iteration, sha256, size, time} of the snapshot last uploaded
        self.pruned = None  # the snapshot the older ones under state/ were last removed for
        self.marker = None
        status = job_status(args.ctl)
        started = job_started(status)
        # A new leg is dated from the training's start: the keeper may come late, even after a short training ended (the
        # role starts it only with a training it started or found running, and a keeper that ends is not restarted).
        since = iso_epoch(started) if started else None
        since = args.leg_started_at or since  # the instance's launch, when the controller gave it
        self.legs, self.leg = open_leg(self.legs_path, args, resumed_iteration(self.snapdir, started, self.log), since)

    def round(self, running, state):
        """Ship what is complete now; STATE is the marker's state (running, finished, failed, interrupted)."""
        pick = snapshot_state.newest_complete(self.snapdir, running=running)
        self.leg.update(ended_at=now_iso(), end_iteration=max(self.leg.get("start_iteration") or 0, last_logged_iteration(self.log)))
        if state != "running":
            self.leg["end"] = state
        write_legs(self.legs_path, self.legs)
        if self.store is None:
            return pick
        if pick["snapshot"] and pick["snapshot"] != (self.shipped or {}).get("snapshot"):
            # The marker names what was uploaded (its sha256 and size), not what was read before.
            digest, size = self.store.put_file(STATE_DIR + pick["snapshot"], pick["path"], iteration=pick["iteration"])
            self.shipped = {"snapshot": pick["snapshot"], "iteration": pick["iteration"], "sha256": digest, "size": size, "time": iso_epoch(pick["mtime"])}
            say(f"shipped {pick['snapshot']} (iteration {pick['iteration']}, {size} bytes) to s3://{self.args.bucket}/{self.args.prefix}{STATE_DIR}")
        if os.path.isfile(self.log):
            self.store.put_file(STATE_DIR + "training.log", self.log)
        self.store.put_file(STATE_DIR + "legs.json", self.legs_path)
        shipped = self.shipped or {"snapshot": None, "iteration": 0}
        marker = {
            "state": state,
            "iteration": int(shipped["iteration"] or 0),
            "run_id": self.args.run_id,
            "snapshot": shipped["snapshot"],
            "host": self.args.host,
            "instance_id": self.args.instance_id,
        }
        if self.args.settings:
            marker["settings"] = self.args.settings
        marker.update({k: shipped[k] for k in ("sha256", "size", "time") if k in shipped})
        if marker != self.marker:
            self.store.put(MARKER, (json.dumps(dict(marker, updated_at=now_iso()), indent=2) + "\n").encode())
            self.marker = marker
        if shipped["snapshot"] and self.pruned != shipped["snapshot"]:
            # Only once the marker names the new snapshot: a reader never finds it naming a removed one.
            for old in self.store.state_snapshots():
                if old != shipped["snapshot"]:
                    self.store.delete(STATE_DIR + old)
            self.pruned = shipped["snapshot"]
        return pick

    def watch(self, once=False):
        while True:
            status = job_status(self.args.ctl)
            end = job_end(status)
            if self.args.watch_spot:
                notice = spot_notice(self.args.imds)
                if notice is not None:
                    return self.interrupted(notice)
            if end:
                # Only a finished training wrote its newest snapshot to the end; one that failed or was stopped may
                # have died in the middle of it, so the running rule holds for it.
                pick = self._round(end != "finished", {"stopped": "interrupted"}.get(end, end))
                say(f"training {end}; final state shipped (snapshot {pick['snapshot']})")
                return 0
            self._round(True, "running")
            if once:
                return 0
            time.sleep(self.args.interval)

    def interrupted(self, notice):
        """A spot interruption notice: stop the training, then ship (retried while the notice leaves time)."""
        deadline = time.monotonic() + SPOT_SHIP_SECONDS
        say(f"spot interruption notice: {json.dumps(notice)}; stopping the training and shipping its state")
        try:
            subprocess.run([self.args.ctl, "stop"], capture_output=True, text=True, timeout=SPOT_SHIP_SECONDS / 2, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            say(f"could not stop the training ({type(exc).__name__}: {exc}); shipping what is complete")
        while True:
            # The training was cut short: its newest snapshot may be half written, so the running rule holds.
            pick = self._round(True, "interrupted")
            if pick.get("shipped", True) or time.monotonic() > deadline:
                break
            time.sleep(min(self.args.interval, 2.0))
        say(f"run {self.args.run_id} marked interrupted at iteration {pick['iteration'] or 0}")
        return 0

    def _round(self, running, state):
        try:
            return self.round(running, state)
        except Exception as exc:  # noqa: BLE001 - the keeper must outlive a failed upload; the next round retries
            say(f"could not ship the state this round ({type(exc).__name__}: {exc}); trying again")
            return {"snapshot": None, "iteration": None, "shipped": False}


def refuse(message):
    sys.stderr.write(message + "\n")
    return 1


def restore(args):
    """The run's S3 state into the run directory: marker, then the snapshot it names (sha256 and HDF5 signature
    checked before anything is written), the training log and legs.json. Exit 0 restored, 3 nothing to restore (no S3
    state, or the controller copy, --at-least, is newer), 1 a refused state (the message says why; the run directory
    is left as it was).

    What the store holds was written from an instance, so it is read within limits: state.json at most
    MARKER_MAX_BYTES, naming this run, a snapshot-<digits>.jld and its size, which the stored snapshot must have before
    it is downloaded; the log and legs.json within their limits too."""
    store = Store(args)
    here = f"s3://{args.bucket}/{args.prefix}"
    fix = (
        f"Delete {here} to start the run over (teardown with -e teardown_delete_results=true), "
        "or put a good snapshot there with its sha256 in state.json."
    )
    try:
        for _attempt in range(3):
            raw = store.get(MARKER, snapshot_state.MARKER_MAX_BYTES)
            if raw is None:
                print(json.dumps({"restored": False, "reason": f"no {MARKER} under {here}"}))
                return 3
            marker = snapshot_state.json_object(raw)
            if marker is None:
                return refuse(f"{here}{MARKER} is not a JSON object (damaged). {fix}")
            if marker.get("run_id") != args.run_id:
                whose = f"the state of run {marker.get('run_id')!r}" if marker.get("run_id") else "the state of no named run"
                return refuse(
                    f"{here}{MARKER} is {whose}, not {args.run_id!r}: a marker names the run it keeps. Give this run's own "
                    "prefix (<project>/<run id>/). " + fix
                )
            name = marker.get("snapshot")
            if not name:
                print(json.dumps({"restored": False, "reason": "the shipped state names no snapshot yet"}))
                return 3
            where = f"{here}{STATE_DIR}{name}"
            if not isinstance(name, str) or not snapshot_state.SNAPSHOT_NAME.match(name):
                return refuse(f"state.json names {name!r}, not a snapshot-NNNNNN.jld. {fix}")
            iteration = int(snapshot_state.SNAPSHOT_NAME.match(name).group("iter"))
            if iteration < args.at_least:
                print(json.dumps({"restored": False, "reason": f"the controller copy (iteration {args.at_least}) is newer "
                                  f"than the S3 state (iteration {iteration})"}))
                return 3
            size = marker.get("size")
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                return refuse(f"state.json gives no size for {name} (got {size!r}). {fix}")
            problem = snapshot_state.settings_problem(here, marker.get("settings"), args.settings, fix) if args.settings else None
            if problem:
                return refuse(problem)
            data = store.get(STATE_DIR + name, size, size=size)
            # A keeper still shipping may have named a newer snapshot and removed this one between the two reads.
            if data is not None or store.get(MARKER, snapshot_state.MARKER_MAX_BYTES) == raw:
                break
        if data is None:
            return refuse(f"Snapshot {where} named in state.json is missing. {fix}")
        # Checked before anything is written: a refused state leaves the run directory as it was (no directory, no file).
        problem = snapshot_state.corruption(where, sha256_bytes(data), marker.get("sha256"),
                                            lambda: snapshot_state.hdf5_signature_offset_in(data), fix)
        if problem:
            return refuse(problem)
        extras = {"training.log": store.get(STATE_DIR + "training.log", snapshot_state.LOG_MAX_BYTES),
                  "legs.json": store.get(STATE_DIR + "legs.json", snapshot_state.LEGS_MAX_BYTES)}
    except TooLarge as exc:
        return refuse(f"{here}{exc}: not what the keeper ships; nothing of it was read. {fix}")
    os.makedirs(os.path.join(args.run_dir, "snapshots"), exist_ok=True)
    write_atomic(os.path.join(args.run_dir, "snapshots", name), data)
    for extra, body in extras.items():
        if body is not None:
            write_atomic(os.path.join(args.run_dir, extra), body)
    print(
        json.dumps(
            {"restored": True, "snapshot": name, "iteration": marker.get("iteration"), "host": marker.get("host"), "time": marker.get("time"), "from": where}
        )
    )
    return 0


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("verb", choices=["watch", "once", "restore"])
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--ctl", default="")
    ap.add_argument("--bucket", default="")
    ap.add_argument("--prefix", default="")
    ap.add_argument("--region", default="")
    ap.add_argument("--endpoint-url", default="")
    ap.add_argument("--expected-bucket-owner", default="", help="the account (12 digits) the bucket must belong to")
    ap.add_argument("--imds", default=os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or IMDS_DEFAULT)
    ap.add_argument("--watch-spot", action="store_true")
    ap.add_argument("--interval", type=float, default=30.0)
    ap.add_argument("--host", default=os.uname().nodename)
    ap.add_argument("--instance-id", default="")
    ap.add_argument("--instance-type", default="")
    ap.add_argument("--market", default="on-prem")
    ap.add_argument("--hourly-usd", default="")
    ap.add_argument("--on-demand-hourly-usd", default="")
    ap.add_argument("--leg-started-at", default="", help="when the instance was launched (ISO 8601): a new leg counts from there")
    ap.add_argument("--settings", default="", help="the training settings (JSON): recorded in state.json; restore refuses a state "
                    "trained with others")
    ap.add_argument("--at-least", type=int, default=0, help="restore: the controller copy's iteration; an older S3 state is "
                    "left where it is (exit 3)")
    args = ap.parse_args(argv)
    if args.bucket and not args.prefix.endswith("/"):
        ap.error("--prefix must end with '/' (<project>/<run id>/)")
    if args.expected_bucket_owner and not re.fullmatch(r"[0-9]{12}", args.expected_bucket_owner):
        ap.error(f"--expected-bucket-owner must be an account id (12 digits), got {args.expected_bucket_owner!r}")
    if args.verb != "restore" and not args.ctl:
        ap.error(f"{args.verb} needs --ctl (the training's jobctl)")
    if args.verb == "restore" and not args.bucket:
        ap.error("restore needs --bucket, --prefix and --region")
    if args.settings:
        try:
            args.settings = snapshot_state.training_settings(json.loads(args.settings))
        except ValueError as exc:
            ap.error(f"--settings: {exc}")
    else:
        args.settings = None
    if args.leg_started_at:
        try:
            args.leg_started_at = iso_utc(args.leg_started_at)
        except ValueError:
            ap.error(f"--leg-started-at {args.leg_started_at!r} is not an ISO 8601 time (2024-05-01T12:34:56Z)")
    return args


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.verb == "restore":
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return restore(args)
        except (BotoCoreError, ClientError) as exc:
            return refuse(
                f"Could not read the run's state in s3://{args.bucket}/{args.prefix} ({type(exc).__name__}: {exc}). "
                "Check the bucket, the prefix, the region and the credentials, then run again."
            )
    keeper = Keeper(args)
    say(
        f"keeping run {args.run_id} (leg {keeper.leg['leg']} on {args.host}"
        + (f", {args.instance_id}" if args.instance_id else "")
        + ") "
        + (f"in s3://{args.bucket}/{args.prefix}" if args.bucket else "on this host (the controller fetches it)")
        + ("; watching for spot interruption notices" if args.watch_spot else "")
    )
    return keeper.watch(once=args.verb == "once")


if __name__ == "__main__":
    sys.exit(main())
