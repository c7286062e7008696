"""`make bundle`: one archive that installs Tessera on a machine with no network.

Run on a connected machine of the same OS and architecture as the target. The archive holds
the wheels of the service and of everything it imports, the Debian packages of Tesseract,
its language data, poppler and Python's venv with their whole dependency closure (as apt
would resolve it on an empty system, so the target needs nothing but what it brings),
`install.sh`, the systemd unit and the README, and a MANIFEST of every file's SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
MANIFEST = "MANIFEST"
# What the service needs from Debian, besides one tesseract-ocr-<lang> per chosen language.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "ocr_engine", "server")
BASE_PACKAGES = ("tesseract-ocr", "tesseract-ocr-osd", "poppler-utils", "python3", "python3-venv")
# Where apt keeps what this machine downloaded before: copied rather than fetched again.
APT_CACHE = Path("/var/cache/apt/archives")


class BundleError(Exception):
    """A step could not be done; the message says what to do."""


def say(message: str) -> None:
    print(f"bundle: {message}", flush=True)


def project_version() -> str:
    with open(REPO / "pyproject.toml", "rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def os_release() -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in Path("/etc/os-release").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key] = value.strip().strip('"')
    return fields


def platform() -> tuple[str, str]:
    """This machine's OS as the bundle names it (`debian12`) and its dpkg architecture."""
    fields = os_release()
    os_name = fields.get("ID", "") + fields.get("VERSION_ID", "").split(".")[0]
    arch = _run(["dpkg", "--print-architecture"]).strip()
    return os_name, arch


def source_revision() -> str:
    """The commit the wheel is built from, and whether the checkout differs from it."""
    try:
        commit = _run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).strip()
        changed = _run(["git", "-C", str(REPO), "status", "--porcelain", "--", *WHEEL_SOURCES])
    except BundleError:
        return "unknown (not a git checkout)"
    return commit + (" with uncommitted changes" if changed.strip() else "")


def language_packages(languages: str) -> list[str]:
    """Debian's package for each Tesseract language code (`chi_sim` is `tesseract-ocr-chi-sim`)."""
    codes = [code.strip() for code in languages.split(",") if code.strip()]
    if not codes:
        raise BundleError("TESSERA_BUNDLE_LANGS names no language; use e.g. eng or eng,deu,fra")
    return [f"tesseract-ocr-{code.replace('_', '-').lower()}" for code in codes]


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    except FileNotFoundError as e:
        raise BundleError(f"{command[0]} is not installed on this machine") from e
    except subprocess.CalledProcessError as e:
        detail = (e.stderr or e.stdout or "").strip().splitlines()[-5:]
        raise BundleError(f"{' '.join(command[:3])} failed:\n  " + "\n  ".join(detail)) from e
    return str(done.stdout)


def build_wheels(target: Path) -> None:
    """The project's wheel and a wheel of every runtime dependency (not the test extras)."""
    target.mkdir(parents=True)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    with tempfile.TemporaryDirectory() as build:
        # A copy of what the wheel is made of, so that the build leaves nothing in the checkout.
        source = Path(build) / "src"
        source.mkdir()
        for name in WHEEL_SOURCES:
            if (REPO / name).is_dir():
                ignore = shutil.ignore_patterns("__pycache__")
                shutil.copytree(REPO / name, source / name, ignore=ignore)
            else:
                shutil.copy(REPO / name, source / name)
        _run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(target), str(source)],
            env=env,
        )


def _apt_options(root: Path) -> list[str]:
    """apt options that resolve as on an empty system: every dependency is downloaded."""
    state = root / "state"
    (root / "archives" / "partial").mkdir(parents=True)
    state.mkdir()
    (state / "status").touch()
    return [
        "-o",
        f"Dir::State::status={state / 'status'}",
        "-o",
        f"Dir::Cache::archives={root / 'archives'}",
        "-o",
        "Debug::NoLocking=1",
    ]


def _seed_from_cache(options: list[str], packages: list[str], archives: Path) -> None:
    """Copy the files apt would download that this machine already has."""
    command = ["apt-get", "install", "-d", "-y", "-qq", "--no-install-recommends"]
    uris = _run([*command, "--print-uris", *options, *packages])
    for line in uris.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("'"):
            cached = APT_CACHE / parts[1]
            if cached.is_file():
                shutil.copy2(cached, archives / parts[1])


def download_debs(target: Path, packages: list[str]) -> None:
    """The .deb files of `packages` and of their whole dependency closure."""
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        options = _apt_options(root)
        command = ["apt-get", "install", "-d", "-y", "-qq", "--no-install-recommends"]
        try:
            _seed_from_cache(options, packages, root / "archives")
            _run(command + options + packages)
        except BundleError as first:
            # Stale package lists name files the archive no longer has: refresh once.
            say(f"apt failed ({str(first).splitlines()[-1].strip()}); updating package lists")
            _run(["apt-get", "update", "-qq"])
            _run(command + options + packages)
        target.mkdir(parents=True)
        for deb in sorted((root / "archives").glob("*.deb")):
            shutil.move(deb, target / deb.name)
    write_packages_index(target)


def write_packages_index(debs: Path) -> None:
    """A `Packages` file, so that apt on the target can use the folder as a local archive."""
    stanzas = []
    for deb in sorted(debs.glob("*.deb")):
        control = _run(["dpkg-deb", "--field", str(deb)]).rstrip("\n")
        data = deb.read_bytes()
        stanzas.append(
            f"{control}\nFilename: ./{deb.name}\nSize: {len(data)}\n"
            f"MD5sum: {hashlib.md5(data).hexdigest()}\n"
            f"SHA256: {hashlib.sha256(data).hexdigest()}\n"
        )
    (debs / "Packages").write_text("\n".join(stanzas))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(top: Path, fields: dict[str, str]) -> None:
    """MANIFEST: `key value` lines, a blank line, then `sha256sum` lines for every file."""
    files = sorted(p for p in top.rglob("*") if p.is_file() and p.name != MANIFEST)
    head = "".join(f"{key} {value}\n" for key, value in fields.items())
    sums = "".join(f"{sha256(p)}  {p.relative_to(top)}\n" for p in files)
    (top / MANIFEST).write_text(f"{head}\n{sums}")


def copy_packaging(top: Path) -> None:
    for name, mode in (("install.sh", 0o755), ("tessera.service", 0o644), ("tessera.env", 0o644)):
        shutil.copy(PACKAGING / name, top / name)
        (top / name).chmod(mode)
    for name in ("README.md", "CHANGELOG.md"):
        shutil.copy(REPO / name, top / name)


def build(dist: Path, languages: str) -> Path:
    """Build the bundle into `dist`; the archive's path."""
    version = project_version()
    os_name, arch = platform()
    name = f"tessera-bundle-{version}-{os_name}-{arch}"
    packages = [*BASE_PACKAGES, *language_packages(languages)]
    dist.mkdir(parents=True, exist_ok=True)
    archive = dist / f"{name}.tar.gz"
    with tempfile.TemporaryDirectory(dir=dist, prefix=".building-") as work:
        top = Path(work) / name
        top.mkdir()
        started = time.monotonic()
        say(f"{name}: languages {languages}")
        say("building wheels (the service and its runtime dependencies)")
        build_wheels(top / "wheels")
        say(f"  {len(list((top / 'wheels').glob('*.whl')))} wheels")
        say(f"downloading Debian packages: {' '.join(packages)} and their dependencies")
        download_debs(top / "debs", packages)
        say(f"  {len(list((top / 'debs').glob('*.deb')))} packages")
        copy_packaging(top)
        fields = {
            "bundle": name,
            "version": version,
            "source": source_revision(),
            "os": os_name,
            "arch": arch,
            "languages": languages,
            "packages": " ".join(packages),
        }
        write_manifest(top, fields)
        say(f"writing {archive}")
        partial = archive.with_name(archive.name + ".partial")
        # Wheels and .debs are compressed already: a light gzip level costs little size.
        with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
            tar.add(top, arcname=name)
        os.replace(partial, archive)
    size = archive.stat().st_size / 1e6
    say(f"done in {time.monotonic() - started:.0f} s: {archive} ({size:.0f} MB)")
    return archive


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tools.bundle", description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="where to write it")
    parser.add_argument(
        "--langs",
        default=os.environ.get("TESSERA_BUNDLE_LANGS", "eng"),
        help="Tesseract languages, comma-separated (default: $TESSERA_BUNDLE_LANGS or eng)",
    )
    args = parser.parse_args(argv)
    try:
        build(args.dist.resolve(), args.langs)
    except BundleError as e:
        sys.exit(f"bundle: {e}")


if __name__ == "__main__":
    main()
