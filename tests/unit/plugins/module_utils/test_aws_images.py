"""Images of the configured machine (module_utils/aws_images.py): the fingerprint, reuse or bake, what stays out of an
image, and what the project's images cost."""

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import aws_images as ai
from ansible_collections.mocha.cloud.plugins.module_utils import run_plan as rp

BASE = dict(base_ami="ami-0123456789abcdef0", region="us-east-1", architecture="x86_64", instance_type="g4dn.xlarge")
SETTINGS = {"julia_build_version": "0.6", "julia_build_method": "auto", "julia_build_binary_checksums": {"0.6.4": {"x86_64": "d20e"}},
            "mocha_version": "v0.3.1", "mocha_source": "", "mocha_backend": "auto", "cuda_cudnn": False,
            "cuda_toolkit_version": "auto", "mocha_cudnn_compat_enabled": True, "hdf5_packages": ["libhdf5-dev"]}


def fp(settings=None, **kw):
    return ai.fingerprint(**dict(BASE, **kw), settings=SETTINGS if settings is None else settings)


@pytest.mark.parametrize("change", [
    {"base_ami": "ami-0fedcba9876543210"}, {"region": "eu-west-1"}, {"architecture": "arm64"},
    {"instance_type": "g5.xlarge"},
])
def test_each_launch_input_changes_the_fingerprint(change):
    assert fp(**change) != fp()


@pytest.mark.parametrize("name, value", [
    ("julia_build_version", "1.10"), ("julia_build_method", "source"),
    ("julia_build_binary_checksums", {"0.6.4": {"x86_64": "beef"}}), ("mocha_version", "v0.3.0"),
    ("mocha_source", "file:///srv/Mocha.jl.git"), ("mocha_backend", "cpu"), ("cuda_cudnn", True),
    ("cuda_toolkit_version", "8.0"), ("mocha_cudnn_compat_enabled", False), ("hdf5_packages", ["libhdf5-103"]),
])
def test_each_setting_of_the_configuring_roles_changes_it(name, value):
    assert fp(dict(SETTINGS, **{name: value})) != fp()


def test_order_and_irrelevant_settings_do_not_change_it():
    reordered = dict(reversed(list(SETTINGS.items())))
    assert fp(reordered) == fp()
    noise = dict(SETTINGS, mocha_pkg_poll_interval_s=2, julia_build_timeout_s=99, julia_build_jobs=64,
                 julia_build_binary_url_base="http://127.0.0.1:8000", mocha_gpu_smoke_timeout=5,
                 cifar10_max_iter=10, aws_gpu_instance_market="spot", mocha_cloud_provision=True)
    assert fp(noise) == fp()
    # Another size of the same family has the same GPU: the same fingerprint.
    assert fp(instance_type="g4dn.2xlarge") == fp()


def test_a_fingerprint_needs_the_base_ami():
    with pytest.raises(ai.ImageError, match="base AMI"):
        ai.fingerprint("", "us-east-1", "x86_64", "g4dn.xlarge", {})


def image(image_id, fingerprint, project="mocha-cloud", state="available", baked_at="2026-12-01T10:00:00Z", run="r1", size=100):
    return {"image_id": image_id, "name": f"{project}-{fingerprint}-{run}", "state": state, "creation_date": baked_at,
            "tags": {"mocha-cloud:project": project, "mocha-cloud:fingerprint": fingerprint,
                     "mocha-cloud:baked-by-run": run, "mocha-cloud:baked-at": baked_at},
            "block_device_mappings": [{"device_name": "/dev/sda1", "ebs": {"snapshot_id": f"snap-{image_id[4:]}", "volume_size": size}}]}


def request(**kw):
    out = dict(base_ami=BASE["base_ami"], region="us-east-1", architecture="x86_64", instance_types=["g4dn.xlarge"],
               settings=SETTINGS, images=[], project="mocha-cloud", bake="auto", market="on-demand")
    out.update(kw)
    return out


def test_the_newest_matching_image_of_the_project_is_reused():
    mine = fp()
    images = [image("ami-old", mine, baked_at="2026-11-01T00:00:00Z"), image("ami-new", mine, run="r2"),
              image("ami-other", "0" * 20), image("ami-theirs", mine, project="someone-else", baked_at="2027-01-01T00:00:00Z"),
              image("ami-pending", mine, state="pending", baked_at="2027-01-01T00:00:00Z")]
    p = ai.plan(request(images=images))
    assert p["reuse"]["image_id"] == "ami-new" and not p["bake"]
    assert "launching from ami-new" in p["lines"][0] and "by run r2" in p["lines"][0]


def test_a_pending_image_is_waited_for_then_the_base_ami_is_used():
    # A run that baked did not wait for its image: the next launch finds it pending (EC2 refuses to launch from it).
    pending = image("ami-pending", fp(), state="pending", run="leg1")
    p = ai.plan(request(images=[pending], market="spot", wait_timeout=3600))
    assert p["wait"]["image_id"] == "ami-pending" and p["reuse"] is None and not p["bake"]
    assert "still pending: the launch waits" in p["lines"][0] and "3600 s" in p["lines"][0]
    # Available once waited for: launched from.
    done = ai.plan(request(images=[dict(pending, state="available")], market="spot", waited=30))
    assert done["reuse"]["image_id"] == "ami-pending" and done["wait"] is None
    # Still pending after the wait: the base AMI, and no second image of the same fingerprint.
    late = ai.plan(request(images=[pending], market="spot", waited=3600))
    assert late["wait"] is None and late["reuse"] is None and not late["bake"]
    assert "still pending after 3600 s: launching from the base AMI" in late["lines"][0]


def test_a_failed_image_is_said_and_another_is_baked():
    p = ai.plan(request(images=[image("ami-broken", fp(), state="failed")], market="spot"))
    assert p["wait"] is None and p["reuse"] is None and p["bake"]
    assert "ami-broken" in p["lines"][0] and "is failed: not used" in p["lines"][0]


@pytest.mark.parametrize("setting, market, sweep, recover, bakes", [
    ("auto", "on-demand", False, False, False), ("auto", "spot", False, False, True), ("auto", "on-demand", True, False, True),
    ("auto", "on-demand", False, True, True), ("always", "on-demand", False, False, True), ("never", "spot", True, True, False),
])
def test_when_a_run_bakes(setting, market, sweep, recover, bakes):
    p = ai.plan(request(bake=setting, market=market, sweep=sweep, recover=recover))
    assert p["bake"] is bakes and p["reuse"] is None, p


def test_never_reuses_nothing_either():
    p = ai.plan(request(bake="never", images=[image("ami-new", fp())]))
    assert p["reuse"] is None and not p["bake"]


def test_fallback_types_of_another_gpu_family_launch_from_the_base_ami():
    p = ai.plan(request(instance_types=["g4dn.xlarge", "g5.xlarge"], images=[image("ami-new", fp())], bake="always"))
    assert p["reuse"] is None and not p["bake"]
    assert "g5.xlarge" in p["lines"][0]


def test_a_bad_setting_is_refused():
    with pytest.raises(ai.ImageError, match="auto, always, never"):
        ai.plan(request(bake="sometimes"))


def test_the_run_plan_from_an_image_verifies_instead_of_configuring():
    shipped = {"instance_type": "g4dn.xlarge", "hourly_price_usd": 0.526, "julia_version": "0.6", "max_iter": 70000,
               "backend": "gpu", "max_hours": 8}
    plain = rp.plan(shipped)
    reused = ai.summary(image("ami-new", fp(), run="r2"))
    baked = rp.plan(dict(shipped, image=reused))
    phases = [p["phase"] for p in baked["phases"]]
    assert "verify" in phases and not set(ai.BAKED_PHASES) & set(phases)
    saved = sum(p["seconds"] for p in plain["phases"] if p["phase"] in ai.BAKED_PHASES) - ai.VERIFY_SECONDS
    assert baked["image"]["saved_seconds"] == saved > 3000
    assert plain["total_seconds"] - baked["total_seconds"] == saved
    assert any(line.startswith("  image    ami-new") and "by run r2" in line for line in baked["lines"])


def test_teardown_lists_only_the_projects_images_with_their_cost():
    images = [image("ami-a", "f" * 20, size=100), image("ami-b", "e" * 20, project="someone-else")]
    kept = ai.inventory(images, "mocha-cloud")
    assert [i["image_id"] for i in kept["images"]] == ["ami-a"] and kept["delete"] == []
    assert kept["monthly_usd"] == pytest.approx(100 * 0.05)
    assert "at most 100 GB" in kept["lines"][0] and "$5.00 a month" in kept["lines"][0]
    assert "teardown_delete_images=true" in kept["lines"][-1]
    gone = ai.inventory(images, "mocha-cloud", delete=True)
    assert [i["image_id"] for i in gone["delete"]] == ["ami-a"]
    assert ai.inventory(images, "")["images"] == []


def test_the_stored_size_wins_over_the_volume_size():
    one = image("ami-a", "f" * 20, size=100)
    s = ai.summary(one, {"snap-a": {"FullSnapshotSizeInBytes": 31 * 10 ** 9}})
    assert s["size_gb"] == 31 and s["size_exact"] and s["monthly_usd"] == pytest.approx(1.55)


def test_what_stays_out_of_an_image():
    paths = ai.aside_paths("/var/lib/mocha-cifar10/run", "/var/lib/mocha-cifar10/autodown", ["root", "ubuntu", "root"])
    for must in ("/var/lib/mocha-cifar10/run", "/var/lib/mocha-cifar10/autodown", "/root/.bash_history",
                 "/home/ubuntu/.ssh/authorized_keys", "/home/ubuntu/.bash_history", "/etc/mocha-cloud",
                 "/etc/systemd/system/timers.target.wants/mocha-cloud-expiry.timer"):
        assert must in paths
    assert len(paths) == len(set(paths))
    with pytest.raises(ai.ImageError):
        ai.aside_paths("relative/run", "/var/lib/x", ["root"])
