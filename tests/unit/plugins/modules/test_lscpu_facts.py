"""The lscpu_facts module with run_command mocked: exact command lines, JSON/text fallback, failures."""


import pytest
from ansible_collections.mocha.cloud.plugins.modules import lscpu_facts
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import FakeHost, run_module
from conftest import FIXTURES, capture

LSCPU = "/usr/bin/lscpu"
EPYC = FIXTURES / "lscpu-util-linux" / "lscpu-x86_64-epyc_7451.txt"


class Host(FakeHost):
    """lscpu at /usr/bin/lscpu, run with LC_ALL=C, and the H200 box's /proc/meminfo."""

    def __init__(self, monkeypatch, tmp_path):
        super().__init__(monkeypatch, tmp_path, bins={"lscpu": LSCPU}, environ={"LC_ALL": "C", "LANG": "C"})
        self.meminfo = tmp_path / "meminfo"
        self.meminfo.write_text(capture("meminfo.txt"))
        monkeypatch.setattr(lscpu_facts, "MEMINFO", str(self.meminfo))
        self.warnings = []

    def gather(self, args=None, check_mode=False):
        result = run_module(lscpu_facts.main, args, check_mode=check_mode)
        assert not result.get("failed") and result["changed"] is False, result
        self.warnings = result.get("warnings", [])
        return result["ansible_facts"]["lscpu"]

    def fail(self, args=None):
        result = run_module(lscpu_facts.main, args)
        assert result.get("failed") is True, result
        return result


@pytest.fixture
def host(monkeypatch, tmp_path):
    return Host(monkeypatch, tmp_path)


@pytest.mark.parametrize("check_mode", [False, True])
def test_gpu_box_json(host, check_mode):
    host.answer([LSCPU, "-J"], out=capture("lscpu-json.txt"))
    facts = host.gather(check_mode=check_mode)
    assert host.calls == [[LSCPU, "-J"]]
    assert facts["source"] == "json"
    assert (facts["architecture"], facts["cpus"], facts["online_cpus"], facts["sockets"]) == ("x86_64", 16, 16, 1)
    assert facts["model_names"] == ["Intel(R) Xeon(R) Processor"]
    assert facts["caches"]["L3"] == 300 * 1024 ** 2
    assert facts["numa_nodes"] == [{"node": 0, "cpus": "0-15", "cpu_count": 16}]
    # MemAvailable 131478796 kB = 128397 MiB: plenty for 16 jobs of 1 GiB.
    assert (facts["memory_available_mb"], facts["memory_per_job_mb"], facts["build_jobs"]) == (128397, 1024, 16)
    assert facts["memory_total_mb"] == 131981020 // 1024


def test_old_lscpu_without_json_falls_back_to_text(host):
    host.answer([LSCPU, "-J"], rc=1, err="lscpu: invalid option -- 'J'\nTry 'lscpu --help' for more information.\n")
    host.answer([LSCPU], out=capture("lscpu.txt"))
    facts = host.gather()
    assert host.calls == [[LSCPU, "-J"], [LSCPU]]
    assert facts["source"] == "text"
    assert facts["cpus"] == 16 and facts["hypervisor"] == "KVM"
    assert host.warnings == []


def test_json_and_text_paths_give_the_same_facts(monkeypatch, tmp_path):
    json_host = Host(monkeypatch, tmp_path)
    json_host.answer([LSCPU, "-J"], out=capture("lscpu-json.txt"))
    from_json = json_host.gather()
    text_host = Host(monkeypatch, tmp_path)
    text_host.answer([LSCPU, "-J"], rc=1, err="lscpu: unrecognized option '-J'\n")
    text_host.answer([LSCPU], out=capture("lscpu.txt"))
    from_text = text_host.gather()
    assert from_json.pop("source") == "json" and from_text.pop("source") == "text"
    assert from_json == from_text


def test_memory_caps_build_jobs(host):
    human = EPYC.read_text().split("# The following is the parsable")[0]
    host.answer([LSCPU, "-J"], rc=1, err="lscpu: invalid option -- 'J'\n")
    host.answer([LSCPU], out=human)
    host.meminfo.write_text("MemTotal: 33554432 kB\nMemFree: 1000000 kB\nMemAvailable: 20971520 kB\n")
    facts = host.gather({"memory_per_job_mb": 2048})
    assert facts["online_cpus"] == 96
    assert (facts["memory_available_mb"], facts["build_jobs"]) == (20480, 10)


def test_memory_available_option_overrides_meminfo(host):
    host.answer([LSCPU, "-J"], out=capture("lscpu-json.txt"))
    facts = host.gather({"memory_available_mb": 3000})
    assert (facts["memory_available_mb"], facts["build_jobs"]) == (3000, 2)
    facts = host.gather({"memory_available_mb": 100})
    assert facts["build_jobs"] == 1


def test_missing_lscpu_names_util_linux(host):
    del host.bins["lscpu"]
    failure = host.fail()
    assert "util-linux" in failure["msg"]
    assert host.calls == []


def test_unparsable_text_quotes_the_line(host):
    host.answer([LSCPU, "-J"], rc=1, err="lscpu: invalid option -- 'J'\n")
    host.answer([LSCPU], out="CPU(s): 4\nSegmentation fault (core dumped)\n")
    failure = host.fail()
    assert "Segmentation fault (core dumped)" in failure["msg"]
    assert failure["stdout"].startswith("CPU(s): 4")


def test_broken_json_falls_back_to_text_with_warning(host):
    host.answer([LSCPU, "-J"], out='{"lscpu": [')
    host.answer([LSCPU], out=capture("lscpu.txt"))
    facts = host.gather()
    assert facts["source"] == "text"
    assert any("lscpu -J" in w for w in host.warnings)


def test_lscpu_failure_reports_rc_and_stderr(host):
    host.answer([LSCPU, "-J"], rc=2, err="lscpu: cannot open /proc/cpuinfo: Permission denied\n")
    failure = host.fail()
    assert failure["rc"] == 2
    assert "Permission denied" in failure["msg"]


@pytest.mark.parametrize("args, words", [
    ({"memory_per_job_mb": 0}, "memory_per_job_mb must be a positive"),
    ({"memory_available_mb": -5}, "memory_available_mb must not be negative"),
])
def test_bad_options_fail_before_running_anything(host, args, words):
    failure = host.fail(args)
    assert words in failure["msg"]
    assert host.calls == []
