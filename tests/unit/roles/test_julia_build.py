"""The julia_build role's table of official binary checksums: sha256 for every version and architecture."""

import yaml
from conftest import REPO


def test_checksums_are_sha256():
    sums = yaml.safe_load((REPO / "roles" / "julia_build" / "files" / "tables" / "checksums.yml").read_text())
    for version, by_arch in sums.items():
        assert version.count(".") == 2, version
        for arch, digest in by_arch.items():
            assert len(digest) == 64 and int(digest, 16) >= 0, (version, arch)
