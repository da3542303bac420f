"""mocha.cloud.files_to_write: which rendered files differ from what find read on the host."""

import hashlib

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter.files_to_write import files_to_write


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


WANTED = [
    {"dest": "/run/a.jl", "content": "println(1)\n", "mode": "0644"},
    {"dest": "/run/env.sh", "content": "export X=1\n", "mode": "0644"},
    {"dest": "/usr/local/bin/ctl", "content": "#!/bin/sh\n", "mode": "0755"},
]


def test_nothing_to_write_when_every_checksum_and_mode_match():
    found = [{"path": w["dest"], "checksum": sha1(w["content"]), "mode": w["mode"]} for w in WANTED]
    assert files_to_write(WANTED, found) == []


def test_missing_changed_content_and_changed_mode_are_written():
    found = [
        {"path": "/run/a.jl", "checksum": sha1("println(2)\n"), "mode": "0644"},  # content differs
        {"path": "/usr/local/bin/ctl", "checksum": sha1("#!/bin/sh\n"), "mode": "0644"},  # mode differs
        {"path": "/elsewhere/env.sh", "checksum": sha1("export X=1\n"), "mode": "0644"},  # same name, other dir
    ]
    assert [w["dest"] for w in files_to_write(WANTED, found)] == ["/run/a.jl", "/run/env.sh", "/usr/local/bin/ctl"]


def test_non_ascii_content_is_hashed_as_utf8():
    wanted = [{"dest": "/r/t.md", "content": "accuracy ≈ 80 %\n", "mode": "0644"}]
    found = [{"path": "/r/t.md", "checksum": hashlib.sha1("accuracy ≈ 80 %\n".encode()).hexdigest(), "mode": "644"}]
    assert files_to_write(wanted, found) == []


@pytest.mark.parametrize("wanted,found,match", [
    ("nope", [], "expects a list"),
    ([{"dest": "/a", "content": "x"}], [], "needs dest, content and mode"),
    ([{"dest": "/a", "content": "x", "mode": "rw-r--r--"}], [{"path": "/a", "checksum": sha1("x"), "mode": "0644"}], "octal"),
])
def test_bad_input_is_a_clear_error(wanted, found, match):
    with pytest.raises(AnsibleFilterError, match=match):
        files_to_write(wanted, found)
