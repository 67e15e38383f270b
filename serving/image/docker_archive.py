"""Packs a root file system as a single-layer docker-archive tarball (what `docker save` writes), a base image that
Jib reads with tar:// and no registry. Usage: docker_archive.py <rootfs> <output.tar>"""
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile

rootfs, output = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    layer = os.path.join(tmp, "layer.tar")
    with tarfile.open(layer, "w") as tar:
        for name in sorted(os.listdir(rootfs)):
            tar.add(os.path.join(rootfs, name), arcname=name)
    digest = hashlib.sha256()
    with open(layer, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           "JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + digest.hexdigest()]},
        "history": [{"created_by": "debootstrap bookworm minbase + openjdk-17-jre-headless libopenblas0 libgomp1"}],
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": ["imgvec-base:bookworm-jre17"],
                            "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(output, "w") as out:
        out.add(layer, arcname="layer.tar")
        for name, data in ((config_name, config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
