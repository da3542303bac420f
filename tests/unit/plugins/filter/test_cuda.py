"""The filters mocha.cloud.cuda_decide, cuda_os_repo and cuda_headers_metapackages (plugins/filter/cuda.py): the
matrix of module_utils/cuda_matrix.py under the role's variable names, booleans as YAML gives them."""

import pytest
from ansible_collections.mocha.cloud.plugins.filter.cuda import FilterModule
from ansible_collections.mocha.cloud.plugins.module_utils import cuda_matrix

FILTERS = FilterModule().filters()
T4 = "00:1e.0 3D controller [0302]: NVIDIA Corporation TU104GL [Tesla T4] [10de:1eb8] (rev a1)"
NO_DRIVER = {"present": False, "error": "nvidia-smi not found", "driver_version": None, "cuda_version": None,
             "gpus": [], "nvcc_version": None, "nvcc_path": None, "cudnn_version": None}


def test_filters_are_registered():
    assert set(FILTERS) == {"cuda_decide", "cuda_os_repo", "cuda_headers_metapackages"}  # the ones the cuda role uses
    assert FILTERS["cuda_os_repo"]("Debian", "12", "x86_64")["distro"] == "debian12"


def test_decide_takes_the_role_variables_by_name():
    d = FILTERS["cuda_decide"](NO_DRIVER, lspci=T4, driver_branch="570", cuda_version="12.8", cudnn="yes")
    assert d == cuda_matrix.decide(NO_DRIVER, lspci_text=T4, driver_pin="570", cuda_pin="12.8", cudnn=True)
    assert (d["path"], d["driver_branch"], d["cuda_version"], d["install_cudnn"]) == ("install", "570", "12.8", True)


@pytest.mark.parametrize("required, path", [("false", "no_gpu"), ("true", None), (False, "no_gpu"), (True, None)])
def test_decide_reads_required_as_yaml_gives_it(required, path):
    assert FILTERS["cuda_decide"](NO_DRIVER, required=required)["path"] == path
