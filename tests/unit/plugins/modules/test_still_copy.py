"""mocha.cloud.still_copy: each file copied from one read, up to its last complete line, written only when it differs."""

import pytest
from ansible_collections.mocha.cloud.plugins.modules import still_copy
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module


def test_copies_whole_lines_only_what_differs(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    log, legs, dest = run / "training.log", run / "legs.json", run / "fetch"
    log.write_bytes(b"line 1\nline 2\nhalf a li")  # a writer in the middle of a line
    legs.write_text('{"legs": []}\n')
    args = {"src": [str(log), str(legs)], "dest": str(dest)}
    check = run_module(still_copy.main, args, check_mode=True)
    assert check["changed"] and not dest.exists()
    res = run_module(still_copy.main, args)
    assert res["changed"] and res["copies"] == res["written"] == [str(dest / "training.log"), str(dest / "legs.json")]
    assert (dest / "training.log").read_bytes() == b"line 1\nline 2\n"
    assert (dest / "legs.json").read_text() == '{"legs": []}\n'
    assert (dest / "legs.json").stat().st_mode & 0o7777 == 0o644
    assert not run_module(still_copy.main, args)["changed"]  # the half line is still not complete
    with log.open("ab") as handle:
        handle.write(b"ne\n")
    res = run_module(still_copy.main, args)
    assert res["written"] == [str(dest / "training.log")]
    assert (dest / "training.log").read_bytes() == b"line 1\nline 2\nhalf a line\n"


def test_a_missing_source_is_left_out_and_its_old_copy_removed(tmp_path):
    legs, dest = tmp_path / "legs.json", tmp_path / "fetch"
    legs.write_text("{}\n")
    run_module(still_copy.main, {"src": [str(legs)], "dest": str(dest)})
    legs.unlink()
    res = run_module(still_copy.main, {"src": [str(legs)], "dest": str(dest)})
    assert res["changed"] and res["copies"] == [] and not (dest / "legs.json").exists()
    assert not run_module(still_copy.main, {"src": [str(legs)], "dest": str(dest)})["changed"]


@pytest.mark.parametrize(("src", "dest", "message"), [
    (["training.log"], "fetch", "is not an absolute path"),
    (["/run/training.log"], "/run", "is the directory of src"),
    (["/a/legs.json", "/b/legs.json"], "/c", "the same file name"),
])
def test_refuses_copies_that_could_not_be_fetched_safely(src, dest, message):
    res = run_module(still_copy.main, {"src": src, "dest": dest})
    assert res["failed"] and message in res["msg"]
