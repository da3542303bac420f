"""mocha.cloud.bake_aside: what must not go into an image waits on tmpfs while the image is made, then comes back."""

import os
import stat

import pytest
from ansible_collections.mocha.cloud.plugins.modules import bake_aside
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module

MOUNTINFO = """\
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw
25 22 0:23 / /dev rw,nosuid shared:2 - devtmpfs udev rw
26 25 0:24 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw
27 22 0:25 / /run rw,nosuid,nodev shared:4 - tmpfs tmpfs rw,mode=755
28 22 0:26 / /var/lib/docker\\040data rw shared:5 - xfs /dev/nvme1n1 rw
"""


@pytest.mark.parametrize("path, kind", [("/dev/shm", "tmpfs"), ("/dev/shm/mocha-cloud-bake", "tmpfs"), ("/run/x", "tmpfs"),
                                        ("/dev/shmx", "devtmpfs"), ("/var/tmp", "ext4"), ("/var/lib/docker data/x", "xfs")])
def test_the_file_system_of_a_path(path, kind):
    assert bake_aside.fs_type(path, MOUNTINFO) == kind


@pytest.fixture
def holding():
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm here")
    path = f"/dev/shm/mocha-cloud-bake-test-{os.getpid()}"
    yield path
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path, topdown=False):
            for name in files:
                os.remove(os.path.join(root, name))
            for name in dirs:
                os.rmdir(os.path.join(root, name))
        os.rmdir(path)


def test_aside_then_back_keeps_content_and_mode(tmp_path, holding):
    run = tmp_path / "run"
    (run / "snapshots").mkdir(parents=True)
    (run / "snapshots" / "snapshot-000400.jld").write_bytes(b"weights")
    keys = tmp_path / "home" / ".ssh" / "authorized_keys"
    keys.parent.mkdir(parents=True)
    keys.write_text("ssh-ed25519 AAAA run key\n")
    keys.chmod(0o600)
    args = {"paths": [str(run), str(keys), str(tmp_path / "absent")], "holding_dir": holding, "state": "aside"}
    check = run_module(bake_aside.main, args, check_mode=True)
    assert check["changed"] and check["moved"] == [str(run), str(keys)] and run.exists()
    res = run_module(bake_aside.main, args)
    assert res["changed"] and not run.exists() and not keys.exists()  # an image made now holds neither
    again = run_module(bake_aside.main, args)
    assert "never put back" in again["msg"]
    back = run_module(bake_aside.main, {"holding_dir": holding, "state": "back"})
    assert back["moved"] == [str(run), str(keys)] and not os.path.exists(holding)
    assert (run / "snapshots" / "snapshot-000400.jld").read_bytes() == b"weights"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600 and keys.read_text() == "ssh-ed25519 AAAA run key\n"
    assert not run_module(bake_aside.main, {"holding_dir": holding, "state": "back"})["changed"]


def test_a_holding_dir_on_disk_is_refused(tmp_path):
    (tmp_path / "history").write_text("x\n")
    res = run_module(bake_aside.main, {"paths": [str(tmp_path / "history")], "holding_dir": str(tmp_path / "hold" / "x"),
                                       "state": "aside"})
    assert "not tmpfs" in res["msg"] and (tmp_path / "history").exists()


def test_a_running_job_is_refused(tmp_path, holding):
    ctl = tmp_path / "jobctl"
    # A status line as jobctl prints it (roles/common/templates/jobctl.sh.j2), the fields the module reads among them.
    ctl.write_text('#!/bin/sh\necho \'{"job": "cifar10", "running": true, "state": "running", "rc": null, "pid": 42}\'\n')
    ctl.chmod(0o755)
    (tmp_path / "history").write_text("x\n")
    res = run_module(bake_aside.main, {"paths": [str(tmp_path / "history")], "jobs": [str(ctl)], "holding_dir": holding,
                                       "state": "aside"})
    assert "a job runs on this host: cifar10" in res["msg"] and (tmp_path / "history").exists()
