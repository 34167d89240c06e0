"""Make a local Debian bookworm base image with debootstrap, for machines that cannot pull one.

The image has python3, python3-venv and ca-certificates, the host's CA bundle and a pip.conf that
points pip at it (so pip inside a build trusts whatever the host trusts), and nothing else. The
debootstrapped root file system is kept as a tarball in the cache folder, keyed by everything that
goes into it, so a fresh Docker data root imports it in seconds instead of bootstrapping again.

Run it by hand with `python -m tests.container.baseimage` (root, an engine in DOCKER_HOST).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
REPOSITORY = "sd-local-base"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CACHE_DIR = Path(os.environ.get("SD_DOCKER_CACHE", "/var/cache/sd-task-service"))
# Bump when the recipe below changes, so that cached tarballs are not reused.
RECIPE_VERSION = "1"


def debian_mirror() -> str:
    """Return the Debian archive URL that apt on this host uses for the main suite.

    `SD_DEBIAN_MIRROR` overrides. Reads one-line (`*.list`) and deb822 (`*.sources`) formats and
    prefers an entry that carries the `bookworm` suite itself over security or updates entries.
    """
    if os.environ.get("SD_DEBIAN_MIRROR"):
        return os.environ["SD_DEBIAN_MIRROR"]
    candidates: list[tuple[str, list[str]]] = []
    for name in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*"))]:
        try:
            text = Path(name).read_text()
        except OSError:
            continue
        if name.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if ":" in line and not line.lstrip().startswith("#"):
                        key, _, value = line.partition(":")
                        fields[key.strip().lower()] = value.strip()
                if "deb" in fields.get("types", "").split():
                    for uri in fields.get("uris", "").split():
                        candidates.append((uri, fields.get("suites", "").split()))
        else:
            for line in text.splitlines():
                parts = re.sub(r"\[[^]]*\]", "", line).split()
                if len(parts) >= 3 and parts[0] == "deb":
                    candidates.append((parts[1], [parts[2]]))
    for uri, suites in candidates:
        if SUITE in suites and uri.startswith(("http://", "https://")):
            return uri
    raise RuntimeError(
        f"no apt source for Debian {SUITE} in /etc/apt; set SD_DEBIAN_MIRROR to an archive URL"
    )


def recipe_key(mirror: str) -> str:
    """Hash everything that goes into the root file system (the CA bundle included)."""
    digest = hashlib.sha256()
    digest.update(f"{RECIPE_VERSION}|{SUITE}|{','.join(PACKAGES)}|{mirror}|".encode())
    if HOST_CA_BUNDLE.exists():
        digest.update(HOST_CA_BUNDLE.read_bytes())
    return digest.hexdigest()[:12]


def _image_exists(docker: list[str], env: dict[str, str], ref: str) -> bool:
    result = subprocess.run(
        [*docker, "image", "inspect", ref], env=env, capture_output=True, check=False
    )
    return result.returncode == 0


def _debootstrap(mirror: str, tarball: Path) -> None:
    """Bootstrap the root file system and pack it into `tarball` (atomically)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=CACHE_DIR) as work:
        rootfs = Path(work) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(rootfs),
                mirror,
            ],
            check=True,
            capture_output=True,
        )
        # The host's bundle may hold a CA that the Debian package does not (an egress proxy's).
        shutil.copyfile(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
        # pip in a venv uses its own vendored bundle unless told otherwise.
        (rootfs / "etc/pip.conf").write_text(
            "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n"
        )
        for junk in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
            "usr/share/info",
            "usr/share/locale",
        ):
            target = rootfs / junk
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        partial = tarball.with_suffix(".partial")
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."],
            check=True,
        )
        partial.rename(tarball)


def ensure_base_image(docker: list[str], env: dict[str, str]) -> str:
    """Return a reference to the local base image, making and importing it if needed."""
    mirror = debian_mirror()
    key = recipe_key(mirror)
    ref = f"{REPOSITORY}:{SUITE}-{key}"
    if _image_exists(docker, env, ref):
        return ref
    tarball = CACHE_DIR / f"{REPOSITORY}-{SUITE}-{key}.tar"
    if not tarball.exists():
        _debootstrap(mirror, tarball)
    changes = [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        'CMD ["python3"]',
    ]
    command = [*docker, "import"]
    for change in changes:
        command += ["--change", change]
    subprocess.run([*command, str(tarball), ref], env=env, check=True, capture_output=True)
    subprocess.run(
        [*docker, "tag", ref, f"{REPOSITORY}:{SUITE}"], env=env, check=True, capture_output=True
    )
    return ref


if __name__ == "__main__":
    print(ensure_base_image(["docker"], dict(os.environ)))
