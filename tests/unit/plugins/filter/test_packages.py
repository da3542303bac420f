"""mocha.cloud.missing_packages: which wanted packages a dpkg-query/rpm listing does not show as installed."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter.packages import missing_packages

WANTED = ["hdf5-tools", "libhdf5-dev", "python3-h5py"]


def test_all_installed_gives_nothing():
    lines = ["hdf5-tools installed", "libhdf5-dev installed", "python3-h5py installed"]
    assert missing_packages(lines, WANTED) == []


def test_not_installed_states_and_absent_names_are_missing():
    lines = ["hdf5-tools installed", "libhdf5-dev config-files"]  # removed, config left; python3-h5py unknown
    assert missing_packages(lines, WANTED) == ["libhdf5-dev", "python3-h5py"]


def test_a_package_listed_per_architecture_does_not_stand_in_for_another():
    # Two lines for one multiarch package are as many lines as wanted names, yet one package is missing.
    lines = ["hdf5-tools installed", "hdf5-tools installed", "libhdf5-dev installed"]
    assert missing_packages(lines, WANTED) == ["python3-h5py"]


def test_prefix_picks_package_lines_out_of_mixed_output_and_text_input():
    text = "pkg hdf5-tools installed\nh5dump h5dump: Version 1.10.8\nh5py missing\npkg python3-h5py installed\n"
    assert missing_packages(text, WANTED, prefix="pkg ") == ["libhdf5-dev"]
    assert missing_packages(text, ["h5py"]) == ["h5py"]  # without the prefix, "h5py missing" is not installed


def test_bad_input_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="expects the listing's lines"):
        missing_packages(["a installed"], "hdf5-tools")
