"""The julia_versions filters: the mapping onto plugins/module_utils/julia_versions.py, where their rules are tested."""

from ansible_collections.mocha.cloud.plugins.filter import julia_versions as filters
from ansible_collections.mocha.cloud.plugins.module_utils import julia_versions as jv


def test_filter_module_exposes_the_filters_the_role_uses():
    found = filters.FilterModule().filters()
    # the ones the julia_build role uses; the helpers (parse_ls_remote, stable_tags, nearest_tags, known_bad) stay Python
    assert found == {"julia_resolve_version": jv.resolve_version, "julia_select_method": jv.select_method,
                     "julia_gcc_from_package_version": jv.gcc_from_package_version, "julia_srccache": jv.srccache,
                     # site.yml's settings play checks julia_build_version with the role's rule
                     "julia_version_problem": jv.request_problem}
