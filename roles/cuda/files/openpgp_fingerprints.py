#!/usr/bin/env python3
"""Print the fingerprint of every primary OpenPGP public key in a keyring, one per line (upper-case hex).

Usage: openpgp_fingerprints.py FILE [MEMBER]
FILE is a keyring (binary or ASCII-armoured), or a .deb package, in which case MEMBER (default
./usr/share/keyrings/cuda-archive-keyring.gpg) is read from the package's data with dpkg-deb.
Used by the role mocha.cloud.cuda to check the cuda-keyring package before installing it.
Python 3 standard library only; exits 1 with a message on anything it cannot read.
"""

import base64
import hashlib
import io
import subprocess
import sys
import tarfile

DEFAULT_MEMBER = "./usr/share/keyrings/cuda-archive-keyring.gpg"


def dearmor(data):
    """Binary OpenPGP data from ASCII armour (or the data itself when it is not armoured)."""
    if not data.lstrip().startswith(b"-----BEGIN PGP"):
        return data
    lines = data.decode("ascii", "replace").splitlines()
    body, in_body, in_headers = [], False, False
    for line in lines:
        if line.startswith("-----BEGIN PGP"):
            in_body, in_headers = True, True
            continue
        if line.startswith("-----END PGP"):
            break
        if not in_body:
            continue
        if in_headers:
            if not line.strip():
                in_headers = False
            elif ":" not in line:
                in_headers = False
                body.append(line.strip())
            continue
        if line.startswith("="):
            continue  # CRC-24 line
        body.append(line.strip())
    return base64.b64decode("".join(body))


def packets(data):
    """Yield (tag, body) for each OpenPGP packet."""
    i = 0
    while i < len(data):
        head = data[i]
        i += 1
        if not head & 0x80:
            raise ValueError("not OpenPGP data (bad packet header at byte %d)" % (i - 1))
        if head & 0x40:  # new format
            tag = head & 0x3F
            first = data[i]
            if first < 192:
                length, i = first, i + 1
            elif first < 224:
                length, i = ((first - 192) << 8) + data[i + 1] + 192, i + 2
            elif first == 255:
                length, i = int.from_bytes(data[i + 1:i + 5], "big"), i + 5
            else:
                raise ValueError("partial body lengths are not used in keyrings")
        else:  # old format
            tag = (head >> 2) & 0x0F
            kind = head & 0x03
            if kind == 3:
                length = len(data) - i
            else:
                size = (1, 2, 4)[kind]
                length, i = int.from_bytes(data[i:i + size], "big"), i + size
        yield tag, data[i:i + length]
        i += length


def fingerprints(data):
    out = []
    for tag, body in packets(dearmor(data)):
        if tag != 6 or not body:  # 6: public key (primary); subkeys are tag 14
            continue
        version = body[0]
        if version == 4:
            out.append(hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper())
        elif version in (5, 6):
            prefix = b"\x9a" if version == 5 else b"\x9b"
            out.append(hashlib.sha256(prefix + len(body).to_bytes(4, "big") + body).hexdigest().upper())
    return out


def read_from_deb(path, member):
    tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", path], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        names = {m.name: m for m in tar.getmembers()}
        wanted = names.get(member) or names.get(member.lstrip("./")) or names.get("./" + member.lstrip("./"))
        if wanted is None:
            raise ValueError("%s has no %s" % (path, member))
        return tar.extractfile(wanted).read()


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    path = argv[1]
    try:
        if path.endswith(".deb"):
            data = read_from_deb(path, argv[2] if len(argv) > 2 else DEFAULT_MEMBER)
        else:
            with open(path, "rb") as fh:
                data = fh.read()
        found = fingerprints(data)
    except (OSError, ValueError, IndexError, subprocess.CalledProcessError, tarfile.TarError) as exc:
        sys.stderr.write("openpgp_fingerprints: %s: %s\n" % (path, exc))
        return 1
    if not found:
        sys.stderr.write("openpgp_fingerprints: %s: no public key found\n" % path)
        return 1
    print("\n".join(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
