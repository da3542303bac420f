"""FAKE EC2 host, for tests only: binds the podman containers that stand in for instances to the moto instances launched
for them, so that each side does what EC2 does to the other.

- An instance terminated or stopped through the API (TerminateInstances: a teardown, the controller's autodown) stops
  its container: the virtual machine goes when EC2 ends it.
- A container whose operating system powers itself off (the idle watch runs poweroff; the container's init then exits)
  gets EC2's rule for an instance-initiated shutdown: the instance's InstanceInitiatedShutdownBehavior applies
  (terminate ends it, stop stops it), with the state reason Client.InstanceInitiatedShutdown (the tag SHUTDOWN_TAG
  asks tests/integration/moto_launcher.py for it). A container removed by the test (podman rm: a pulled plug, as the
  interruption pipeline does) is left to the test.
- The FAKE IMDS (tests/fakes/imds.py), when there is one, answers the bound instance's id.
- An image made from a bound instance (CreateImage) is its container committed: the fake writes its bindings to the
  moto server's binding file (FakeAws.hosts_file), and tests/integration/moto_launcher.py commits the bound container to
  <image_repo>:<ami id> before it answers, so the image is the disk at that moment. An instance launched from such an
  image (its ImageId has a local image) gets a new container made from it (SPAWN(name, image) starts it, named
  <name prefix>-<instance id>), bound to it at once: the machine boots from the baked disk.

Container i is bound to the live instance of the project with launch index i (one RunInstances call numbers a fleet
0..N-1, as the sweep pipeline's inventory maps them); with one container, to the newest live instance. A binding ends
when its instance or its container is gone. Standard library and boto3 (moto's client) only; runs in a thread of the
pipeline.
"""

import json
import os
import subprocess
import threading
import time

LIVE = ("pending", "running")
SHUTDOWN_TAG = "fake:instance-initiated-shutdown"


def container_state(name, env=None):
    """'running', 'exited' (it stopped by itself, or was stopped) or '' (no such container)."""
    out = subprocess.run(["podman", "inspect", "--format", "{{.State.Status}}", name], capture_output=True, text=True,
                         env=env, check=False, timeout=60)
    return out.stdout.strip() if out.returncode == 0 else ""


class FakeEc2Host:
    def __init__(self, moto, containers, env=None, imds_state=None, project="mocha-cloud", every=0.5, spawn=None,
                 image_repo=None):
        self.moto, self.containers, self.env, self.imds_state = moto, list(containers), env, imds_state
        self.project, self.every = project, every
        # Instances launched from a baked image: SPAWN(name, image) starts their container (None: they get none).
        self.spawn = spawn
        self.image_repo = image_repo or f"localhost/mocha-fake-ami-{os.getpid()}"
        self.spawned = []  # containers this fake made from images
        self._written = None
        self.bound = {}  # container -> instance id
        self.stopped_by_us = set()  # containers this fake stopped because EC2 ended their instance
        self.events = []  # (time, what)
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    # -- what the pipelines read --------------------------------------------------------------------------------
    def log(self, what):
        with self.lock:
            self.events.append((time.time(), what))

    def event_lines(self):
        with self.lock:
            return [f"{t:.1f} {w}" for t, w in self.events]

    # -- the loop ---------------------------------------------------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)

    def _run(self):
        ec2 = self.moto.client("ec2")
        while not self._stop.is_set():
            try:
                self.round(ec2)
            except Exception as exc:  # noqa: BLE001 - a fake must outlive a transient error of moto or podman
                self.log(f"round failed: {type(exc).__name__}: {exc}")
            self._stop.wait(self.every)

    def instances(self, ec2):
        tag = [{"Name": "tag:mocha-cloud:project", "Values": [self.project]}]
        return [i for r in ec2.describe_instances(Filters=tag)["Reservations"] for i in r["Instances"]]

    def write_bindings(self):
        """The bindings, for the moto launcher's CreateImage (a container is committed as the image of its instance)."""
        path = getattr(self.moto, "hosts_file", None)
        body = {"bindings": {iid: c for c, iid in self.bound.items()}, "image_repo": self.image_repo,
                "env": {k: v for k, v in (self.env or {}).items() if k == "CONTAINERS_CONF"}}
        if path is None or body == self._written:
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body))
        tmp.replace(path)  # atomic: CreateImage never reads half a file
        self._written = body

    def image_of(self, ami_id):
        """The local image baked as AMI_ID ('' when none was)."""
        name = f"{self.image_repo}:{ami_id}"
        out = subprocess.run(["podman", "image", "exists", name], env=self.env, check=False, timeout=60,
                             capture_output=True)
        return name if out.returncode == 0 else ""

    def boot_from_images(self, found):
        """A live instance nothing is bound to, launched from a baked image: its container, made from that image."""
        if self.spawn is None:
            return
        for iid, instance in found.items():
            if instance["State"]["Name"] not in LIVE or iid in self.bound.values():
                continue
            image = self.image_of(instance.get("ImageId", ""))
            if not image:
                continue
            name = f"{self.spawn_prefix}-{iid}"
            self.spawn(name, image)
            self.containers.append(name)
            self.spawned.append(name)
            self.bound[name] = iid
            if self.imds_state is not None:
                with self.imds_state.lock:
                    self.imds_state.instance_id = iid
            self.log(f"{name} made from {image} for {iid} (launched from {instance.get('ImageId')})")

    @property
    def spawn_prefix(self):
        return self.containers[0] if self.containers else "mocha-fake-instance"

    def round(self, ec2):
        found = {i["InstanceId"]: i for i in self.instances(ec2)}
        self.boot_from_images(found)
        for container in self.containers:
            state = container_state(container, self.env)
            iid = self.bound.get(container)
            if iid is not None:
                instance = found.get(iid)
                ec2_state = (instance or {}).get("State", {}).get("Name", "terminated")
                if state == "":
                    self.log(f"{container} removed by the test; unbound from {iid}")
                    del self.bound[container]
                elif ec2_state not in LIVE:
                    if state == "running":
                        subprocess.run(["podman", "stop", "-t", "5", container], capture_output=True, env=self.env,
                                       check=False, timeout=120)
                        self.stopped_by_us.add(container)
                        self.log(f"{iid} {ec2_state} through the API: stopped {container}")
                    del self.bound[container]
                elif state == "exited":
                    answer = self.shutdown(iid)
                    self.log(f"{container} powered itself off: {iid} {answer.get('State')} (behaviour {answer.get('Behavior')})")
                    del self.bound[container]
                continue
            if state != "running":
                continue
            candidates = sorted((i for i in found.values() if i["State"]["Name"] in LIVE and i["InstanceId"] not in self.bound.values()),
                                key=lambda i: (i.get("AmiLaunchIndex", 0), i["LaunchTime"]))
            if len(self.containers) > 1:
                index = self.containers.index(container)
                candidates = [i for i in candidates if i.get("AmiLaunchIndex", 0) == index]
            elif candidates:
                candidates = [max(candidates, key=lambda i: i["LaunchTime"])]
            if candidates:
                iid = candidates[0]["InstanceId"]
                self.bound[container] = iid
                if self.imds_state is not None:
                    with self.imds_state.lock:
                        self.imds_state.instance_id = iid
                self.log(f"{container} bound to {iid}")
        self.write_bindings()

    def shutdown(self, instance_id):
        """What EC2 does when the instance's operating system powers it off: its InstanceInitiatedShutdownBehavior
        decides (terminate or stop; EC2's default is stop), and the state reason is Client.InstanceInitiatedShutdown
        (the launcher gives it to an instance marked with SHUTDOWN_TAG)."""
        ec2 = self.moto.client("ec2")
        behaviour = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="instanceInitiatedShutdownBehavior")
        behaviour = (behaviour.get("InstanceInitiatedShutdownBehavior") or {}).get("Value") or "stop"
        ec2.create_tags(Resources=[instance_id], Tags=[{"Key": SHUTDOWN_TAG, "Value": "true"}])
        if behaviour == "terminate":
            state = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0]["CurrentState"]["Name"]
        else:
            state = ec2.stop_instances(InstanceIds=[instance_id])["StoppingInstances"][0]["CurrentState"]["Name"]
        return {"InstanceId": instance_id, "Behavior": behaviour, "State": state}
