"""The cifar10 role: its choices, the real archive as the default download, and its files hang together (defaults vs
argument_specs for every role: test_role_specs.py)."""

import re

import yaml
from conftest import REPO

ROLE = REPO / "roles" / "cifar10"


def _load(path):
    return yaml.safe_load((ROLE / path).read_text())


def test_choices_cover_the_defaults():
    options = _load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert options["cifar10_supervisor"]["choices"] == ["auto", "systemd", "nohup"]
    assert _load("defaults/main.yml")["cifar10_supervisor"] in options["cifar10_supervisor"]["choices"]
    assert set(options["cifar10_backend"]["choices"]) == {"auto", "gpu", "cpu"}


def test_default_download_is_the_real_archive():
    defaults = _load("defaults/main.yml")
    assert defaults["cifar10_archive_size"] == 170052171
    assert defaults["cifar10_archive_md5"] == "c32a1d4ab5d03f1284b67883e8d87530"
    assert defaults["cifar10_url"].endswith("/cifar-10-binary.tar.gz")


def test_every_role_variable_used_is_defined():
    defaults = set(_load("defaults/main.yml"))
    used = set()
    for path in list((ROLE / "tasks").glob("*.yml")) + list((ROLE / "templates").glob("*.j2")):
        text = "\n".join(line for line in path.read_text().splitlines() if not line.strip().startswith("tags:"))
        used |= set(re.findall(r"\b(cifar10_[a-z0-9_]+)\b", text))
    # Registered results and facts the role publishes are not inputs.
    published = {"cifar10_hdf5", "cifar10_start", "cifar10_metrics", "cifar10_results_dir", "cifar10_status", "cifar10_stop",
                 "cifar10_hourly_price_selected", "cifar10_on_demand_price_selected", "cifar10_run_summary",
                 "cifar10_training_running", "cifar10_training_jobs"}
    missing = used - defaults - published
    assert not missing, missing


def test_script_template_keeps_mochas_example():
    text = (ROLE / "templates" / "cifar10.jl.j2").read_text()
    for fragment in (
        'ConvolutionLayer(name="conv1", n_filter=32, kernel=(5,5), pad=(2,2)',
        'PoolingLayer(name="pool1", kernel=(3,3), stride=(2,2), neuron=Neurons.ReLU()',
        'LRNLayer(name="norm1", kernel=3, scale=5e-5, power=0.75, mode=LRNMode.WithinChannel()',
        'ConvolutionLayer(name="conv3", n_filter=64',
        'InnerProductLayer(name="ip1", output_dim=10, weight_init=GaussianInitializer(std=0.01)',
        "weight_regu=L2Regu(250)",
        'SoftmaxLossLayer(name="softmax"',
        "regu_coef={{ cifar10_weight_decay | float }}, mom_policy=MomPolicy.Fixed({{ cifar10_momentum | float }}), lr_policy=lr_policy",
        "add_coffee_break(solver, TrainingSummary(), every_n_iter=",
        "add_coffee_break(solver, ValidationPerformance(test_net), every_n_iter=",
        "load_from=",
    ):
        assert fragment in text, fragment
    assert _load("defaults/main.yml")["cifar10_lr_stages"] == [[60000, 0.001], [5000, 0.0001], [5000, 0.00001]]
    # Mocha's example's momentum and regu_coef are the defaults.
    assert (_load("defaults/main.yml")["cifar10_momentum"], _load("defaults/main.yml")["cifar10_weight_decay"]) == (0.9, 0.004)
