"""SSH sessions stay alive through quiet stretches: NAT devices drop idle flows (an AWS NAT gateway after 350 s, home
routers sooner), and a task can be silent for minutes (a package manager waiting for a first boot's dpkg lock, a
poll of a long job). ansible.cfg's ssh_args send keepalives well inside that, and nothing the EC2 inventory adds to
a host's ssh arguments turns them off."""

import configparser
import re
import shlex

import yaml
from conftest import REPO

NAT_IDLE_S = 350  # AWS NAT gateway idle timeout


def ssh_options(args):
    words = shlex.split(args)
    opts = {}
    for i, word in enumerate(words):
        if word == "-o" and i + 1 < len(words):
            key, _, value = words[i + 1].partition("=")
            opts[key.lower()] = value
    return opts


def test_ansible_cfg_keeps_ssh_sessions_alive_well_inside_a_nat_timeout():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "ansible.cfg")
    opts = ssh_options(cfg["ssh_connection"]["ssh_args"])
    interval = int(opts.get("serveraliveinterval", "0"))
    assert 0 < interval <= NAT_IDLE_S // 5, opts
    assert int(opts.get("serveralivecountmax", "3")) * interval >= 120  # a short network blip does not end a task
    assert opts.get("controlmaster") == "auto" and "controlpersist" in opts  # unchanged: the master carries them


def test_the_ec2_inventory_does_not_turn_keepalives_off():
    inv = yaml.safe_load((REPO / "inventory" / "aws_ec2.yml").read_text())
    common = str(inv.get("compose", {}).get("ansible_ssh_common_args", ""))
    assert not re.search(r"ServerAlive", common, re.I), common
    assert "ssh_args" not in " ".join(inv.get("compose", {}))
