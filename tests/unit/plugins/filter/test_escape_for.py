"""The filter mocha.cloud.escape_for: module_utils/escape.py behind it, errors as AnsibleFilterError, the format checked."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter import escape_for as escape_filter


def test_filter_wraps_errors_and_checks_the_format():
    f = escape_filter.FilterModule().filters()["escape_for"]
    assert f("/srv/$x", "make") == "/srv/$$x"
    assert f(64, "julia") == '"64"'
    with pytest.raises(AnsibleFilterError, match="format must be one of julia, systemd, systemd_exec, make"):
        f("x", "shell")
    with pytest.raises(AnsibleFilterError, match="control characters"):
        f("a\nb", "systemd")
    with pytest.raises(AnsibleFilterError, match="needs a string"):
        f(None, "make")


