"""Task files short enough to read at once: at most 120 lines in roles/*/tasks and playbooks/tasks.

The files still over it are listed with their length today: they may shrink (and leave the list once at 120 or less),
never grow, and no other file may join them."""

from conftest import REPO

MAX_LINES = 120
OVER: dict[str, int] = {}


def task_files():
    paths = [*REPO.glob("roles/*/tasks/**/*.yml"), *REPO.glob("roles/*/tasks/**/*.yaml"),
             *REPO.glob("playbooks/tasks/**/*.yml"), *REPO.glob("playbooks/tasks/**/*.yaml")]
    return {p.relative_to(REPO).as_posix(): len(p.read_text().splitlines()) for p in paths}


def test_task_files_are_short():
    lengths = task_files()
    assert len(lengths) > 50  # the glob finds the roles' and the playbooks' task files
    too_long = {path: n for path, n in lengths.items() if n > OVER.get(path, MAX_LINES)}
    assert not too_long, (f"task files over {MAX_LINES} lines (or longer than they were): {too_long}; split them by "
                          "concern (include_tasks), or move the decision into Python (module_utils)")
    shorter = {path: (limit, lengths.get(path)) for path, limit in OVER.items() if lengths.get(path, 0) < limit}
    assert not shorter, f"these are shorter now: lower their entry in OVER (or remove it at {MAX_LINES} or less): {shorter}"
