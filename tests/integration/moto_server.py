"""A moto server for the AWS integration tests: a stand-in for EC2, SSM, STS, S3 and IAM on 127.0.0.1.

Started from the venv's ``moto_server`` on a free port, with instance-type and AMI validation on,
stopped by its PID. One server answers every service (requirements-dev.txt installs moto's extras for each); S3 is
reached path-style at the same endpoint. moto is started through moto_launcher.py, which reads the TLS condition of
S3 bucket policies as S3 does for a client on TLS (moto denies every object request under such a policy).
``aws_env`` builds the environment every subprocess gets: dummy credentials, the endpoint forced to the fake,
credential/config files pointed at empty files, IMDS disabled and every other HTTP(S) destination sent to a closed local port (so nothing can reach real AWS).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LAUNCHER = Path(__file__).with_name("moto_launcher.py")
CAPACITY_ENV = "MOCHA_CLOUD_FAKE_EC2_CAPACITY"  # read by moto_launcher.py
HOSTS_ENV = "MOCHA_CLOUD_FAKE_EC2_HOSTS"  # read by moto_launcher.py, written by tests/fakes/ec2_host.py
PENDING_ENV = "MOCHA_CLOUD_FAKE_AMI_PENDING"  # read by moto_launcher.py: how long a new image stays pending


def moto_server_argv() -> list:
    """moto's server, through the launcher that reads S3 bucket policies' TLS condition as S3 does (see its docstring)."""
    if not Path(sys.executable).with_name("moto_server").exists():
        raise RuntimeError(f"moto_server not found next to {sys.executable}: run ./scripts/setup --dev")
    return [sys.executable, str(LAUNCHER)]


class FakeAws:
    """One moto server process (the fake AWS) and what the tests need to talk to it."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log = workdir / "moto.log"
        # The launcher's capacity map (moto_launcher.py): empty, no launch is refused for capacity.
        self.capacity_file = workdir / "ec2-capacity.json"
        # The FAKE EC2 host's bindings of instances to containers (moto_launcher.py commits one on CreateImage).
        self.hosts_file = workdir / "ec2-hosts.json"
        # How long an image made by CreateImage stays pending (moto_launcher.py): 20 s until set_image_pending.
        self.pending_file = workdir / "ami-pending.json"

    def start(self, timeout: float = 30) -> "FakeAws":
        env = dict(os.environ)
        env.update(MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION="true", MOTO_ENABLE_AMI_VALIDATION="true")
        env[CAPACITY_ENV] = str(self.capacity_file)
        env[HOSTS_ENV] = str(self.hosts_file)
        env[PENDING_ENV] = str(self.pending_file)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, local binary
                moto_server_argv() + ["-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2):  # noqa: S310
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.endpoint} within {timeout} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def set_capacity(self, capacity: dict) -> None:
        """EC2 capacity from now on: {"[market:]type@zone": instances} (moto_launcher.py); {} for no limit."""
        tmp = self.capacity_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(capacity))
        tmp.replace(self.capacity_file)  # atomic: a RunInstances never reads half a map

    def set_image_pending(self, seconds: float, release: bool = False) -> None:
        """Images made from now on stay pending SECONDS before they are available; RELEASE makes every pending image
        available now (moto_launcher.py)."""
        tmp = self.pending_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seconds": seconds, "release": release}))
        tmp.replace(self.pending_file)

    def reset(self) -> None:
        """Forget every resource (moto's own reset API) and every capacity limit."""
        self.capacity_file.unlink(missing_ok=True)
        self.pending_file.unlink(missing_ok=True)
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10):  # noqa: S310
            pass

    def request_count(self) -> int:
        """How many requests moto has logged (from its log file): proves whether anything reached it."""
        return sum(1 for line in self.log.read_text(errors="replace").splitlines() if '"POST ' in line or '"GET ' in line)

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(
            service, region_name=region, endpoint_url=self.endpoint,
            aws_access_key_id="testing", aws_secret_access_key="testing",  # noqa: S106 - fake
        )


def aws_env(endpoint, workdir: Path, *, credentials: bool = True) -> dict:
    """Environment for ansible subprocesses. Refuses (fails closed) without a local endpoint."""
    if not endpoint or not endpoint.startswith("http://127.0.0.1:"):
        raise RuntimeError(f"refusing to run AWS tests without a local fake endpoint (got {endpoint!r})")
    return sealed_env(workdir, credentials=credentials) | {"AWS_ENDPOINT_URL": endpoint}


def sealed_env(workdir: Path, *, credentials: bool = True) -> dict:
    """The environment without any endpoint: no real AWS is reachable through it either."""
    empty = workdir / "empty-aws-file"
    empty.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCAL_TEMP=str(workdir / "ansible-tmp"),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_CONFIG_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_MAX_ATTEMPTS="1",
        HTTP_PROXY=DEAD_PROXY, HTTPS_PROXY=DEAD_PROXY, http_proxy=DEAD_PROXY, https_proxy=DEAD_PROXY,
        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
    )
    if credentials:
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # noqa: S105 - fake
    return env


def run_playbook(playbook: str, env: dict, extra_vars: dict, inventory: str = "localhost,", timeout: int = 300,
                 check: bool = False):
    """ansible-playbook as a subprocess; returns the CompletedProcess (stdout and stderr merged)."""
    argv = ["ansible-playbook", "-i", inventory, str(REPO / playbook), "-e", json.dumps(extra_vars)]
    return subprocess.run(  # noqa: S603
        argv + (["--check"] if check else []),
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
        check=False,
    )
