#!/usr/bin/env python3
"""Writes the demo's sample push into OUT (standard library only):

    OUT/staged/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/resources.yaml
    OUT/staged/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz
    OUT/mapping.yaml   (StArMap: 4 regions, hourly + access)

The image is a MIB-MiB disk (random 64 KiB blocks, zeros between), xz-compressed; its
`sha256sum` is of the decompressed content, as the peer kit writes it. Metadata and mapping are
the peer kit's example (tests/fixtures/peer-kit-1image).

    python3 scripts/sample.py OUT [MIB]
"""
import hashlib
import lzma
import os
import random
import shutil
import sys

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "peer-kit-1image")
BUILD = "rhel-ec2-9.0-10"
PLACEHOLDER_SUM = "305e5ece35fde47c2f8470f651141cb3b4052bf9183524f47c9a60260efa8d5b"


def main():
    out = sys.argv[1]
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    folder = os.path.join(out, "staged", "starmap", "CLOUD_IMAGES", BUILD)
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(42)
    sha = hashlib.sha256()
    with lzma.open(os.path.join(folder, BUILD + ".x86_64.raw.xz"), "wb", preset=1) as image:
        for _ in range(mib):
            block = rng.randbytes(64 << 10) + bytes((1 << 20) - (64 << 10))
            image.write(block)
            sha.update(block)
    src = os.path.join(FIXTURE, "staged", "starmap", "CLOUD_IMAGES", BUILD, "resources.yaml")
    with open(src, encoding="utf-8") as f:
        resources = f.read().replace(PLACEHOLDER_SUM, sha.hexdigest())
    with open(os.path.join(folder, "resources.yaml"), "w", encoding="utf-8") as f:
        f.write(resources)
    shutil.copy(os.path.join(FIXTURE, "mapping.yaml"), os.path.join(out, "mapping.yaml"))
    print(f"sample push in {out}: 1 image ({mib} MiB, sha256 {sha.hexdigest()[:12]}...), mapping.yaml")


if __name__ == "__main__":
    main()
