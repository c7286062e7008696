"""The offline bundle: built by `tools.bundle`, installed by its install.sh in a network
namespace with no network at all, then used: a page read, the service answering `/health`.

Building needs the machine's apt and pip sources; `TESSERA_TEST_BUNDLE=dist/tessera-bundle-...`
reuses an archive built by `make bundle` instead.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port
from tools import bundle as bundle_tool
from tools import corpus

pytestmark = [pytest.mark.service, pytest.mark.ocr]

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="installing with no network needs root and unshare (a network namespace)",
)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle archive: `TESSERA_TEST_BUNDLE`, or one built now."""
    given = os.environ.get("TESSERA_TEST_BUNDLE")
    if given:
        return Path(given).resolve()
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "tools.bundle", "--dist", str(dist), "--langs", "eng"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bundle: downloading Debian packages" in done.stdout  # progress is shown
    [built] = dist.glob("tessera-bundle-*.tar.gz")
    return built


@pytest.fixture(scope="module")
def bundle(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unpacked bundle's one top folder."""
    where = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(archive) as tar:
        tar.extractall(where, filter="data")
    [top] = where.iterdir()
    return top


def _manifest(bundle: Path) -> tuple[dict[str, str], dict[str, str]]:
    """MANIFEST's fields and its checksums by path."""
    head, _, sums = (bundle / "MANIFEST").read_text().partition("\n\n")
    fields = dict(line.split(" ", 1) for line in head.splitlines())
    checksums = {line[66:]: line[:64] for line in sums.splitlines()}
    return fields, checksums


def _offline(script: str, *, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run a bash script in a new network namespace (no network, loopback up); its output."""
    done = subprocess.run(
        ["unshare", "--net", "bash", "-euo", "pipefail", "-c", "ip link set lo up\n" + script],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_clean_env(), **(env or {})},
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _clean_env() -> dict[str, str]:
    """This environment without what would let the installed copy see the checkout's."""
    dropped = ("PYTHONPATH", "VIRTUAL_ENV", "TESSERA_")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)}


def test_the_archive_holds_one_folder_with_everything_listed(archive: Path, bundle: Path) -> None:
    version = bundle_tool.project_version()
    os_name, arch = bundle_tool.platform()
    name = f"tessera-bundle-{version}-{os_name}-{arch}"
    assert archive.name == f"{name}.tar.gz" and bundle.name == name
    fields, checksums = _manifest(bundle)
    assert (fields["version"], fields["os"], fields["arch"]) == (version, os_name, arch)
    on_disk = {
        str(p.relative_to(bundle))
        for p in bundle.rglob("*")
        if p.is_file() and p.name != "MANIFEST"
    }
    assert set(checksums) == on_disk
    for path, digest in checksums.items():
        assert hashlib.sha256((bundle / path).read_bytes()).hexdigest() == digest, path
    for name in ("install.sh", "tessera.service", "tessera.env", "README.md", "debs/Packages"):
        assert name in checksums
    assert os.access(bundle / "install.sh", os.X_OK)
    wheels = {re.split(r"-\d", p)[0].lower() for p in checksums if p.startswith("wheels/")}
    assert {
        "wheels/tessera_ocr",
        "wheels/tesserocr",
        "wheels/aiohttp",
        "wheels/pypdfium2",
    } <= wheels
    assert not wheels & {"wheels/pytest", "wheels/ruff", "wheels/mypy"}  # no test extras
    debs = {p.split("/")[1].split("_")[0] for p in checksums if p.endswith(".deb")}
    wanted = {"tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-osd", "poppler-utils"}
    assert wanted | {"python3-venv", "libtesseract5", "libpoppler126", "libc6"} <= debs


@needs_root
def test_the_debs_install_on_an_empty_system_from_the_bundle_alone(
    bundle: Path, tmp_path: Path
) -> None:
    # An empty dpkg database: apt must find every dependency, down to libc6, in the bundle.
    (tmp_path / "status").touch()
    out = _offline(f"DPKG_ADMINDIR={tmp_path} {bundle}/install.sh --dry-run")
    planned = set(re.findall(r"would install: Inst (\S+) ", out))
    wanted = {"tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-osd", "poppler-utils"}
    assert wanted | {"python3-venv", "python3", "libtesseract5", "libc6"} <= planned, out
    debs = list((bundle / "debs").glob("*.deb"))
    assert len(planned) == len(debs)  # the bundle carries the closure and nothing more
    # On this machine they are all there: the same run says so.
    here = _offline(f"{bundle}/install.sh --dry-run")
    assert "system packages: all there" in here


@pytest.fixture(scope="module")
def installed(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The bundle installed with no network, then used there; the prefix and what was said."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("installing with no network needs root and unshare (a network namespace)")
    work = tmp_path_factory.mktemp("offline")
    prefix, page = work / "tessera", work / "page.png"
    corpus.text_image(["Read with no network"]).save(page)
    (work / "models").mkdir()
    port = free_port()
    script = f"""
        cd {work}
        echo "links: $(ip -o link | wc -l)"
        {bundle}/install.sh --prefix {prefix} --no-system
        echo "== again"
        {bundle}/install.sh --prefix {prefix} --no-system
        echo "== where"
        {prefix}/venv/bin/python -c 'import server; print(server.__file__)'
        {prefix}/venv/bin/python -c 'import socket; socket.create_connection(("1.1.1.1", 443), 3)' \
          2>&1 | tail -1 || true
        echo "== ocr"
        {prefix}/bin/tessera ocr {page}
        echo "== doctor"
        {prefix}/bin/tessera doctor
        # Without the caller's value, the settings file's is used.
        env -u TESSERA_DATA_DIR {prefix}/bin/tessera doctor | grep "data dir"
        echo "== serve"
        {prefix}/bin/tessera serve --port {port} >{work}/serve.log 2>&1 &
        served=$!
        for _ in $(seq 600); do
          if {prefix}/venv/bin/python -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=1).read().decode())' \
            http://127.0.0.1:{port}/health 2>/dev/null; then break; fi
          sleep 0.1
        done
        kill $served 2>/dev/null || true
        wait $served || true
        cat {work}/serve.log
    """
    env = {
        "TESSERA_DATA_DIR": str(work / "data"),
        "TESSERA_MODELS_DIR": str(work / "models"),
        "TESSERA_WORKERS": "1",
    }
    return prefix, _offline(script, env=env)


def test_installs_with_no_network_and_reads_a_page(installed: tuple[Path, str]) -> None:
    prefix, out = installed
    work = prefix.parent
    first, rest = out.split("== again")
    again, rest = rest.split("== where")
    where, rest = rest.split("== ocr")
    ocr, rest = rest.split("== doctor")
    doctor, served = rest.split("== serve")
    assert "links: 1" in first  # loopback only
    assert "all 1" in first and "files match" in first
    assert f"tessera 0.1.0 installed in {prefix}/venv" in first
    assert "already installed" in again and "already there, kept" in again
    assert "wrote" not in again and f"{prefix}/bin/tessera: already there" in again
    assert where.split()[0].startswith(str(prefix))  # the installed copy, not the checkout
    assert "Network is unreachable" in where
    assert "Read with no network" in ocr
    assert "FAIL" not in doctor and "ready to serve" in doctor
    assert f"data dir           {work}/data writable" in doctor
    assert "data dir           /var/lib/tessera writable" in doctor
    assert '"status": "ok"' in served and '"workers": 1' in served


def test_the_installed_unit_passes_systemd_analyze(installed: tuple[Path, str]) -> None:
    prefix, _ = installed
    unit = prefix / "lib/systemd/system/tessera.service"
    text = unit.read_text()
    assert f"ExecStart={prefix}/bin/tessera serve" in text
    for setting in (
        "User=tessera",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
    ):
        assert setting in text
    assert "ReadWritePaths=/var/lib/tessera" in text
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze on this machine")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


@needs_root
@pytest.mark.skipif(shutil.which("debootstrap") is None, reason="needs Debian's debootstrap")
def test_installs_on_a_minimal_debian_with_no_network(bundle: Path, tmp_path: Path) -> None:
    """The whole install, system packages included, on a bare Debian: not even python3."""
    root = tmp_path / "root"
    suite = bundle_tool.os_release()["VERSION_CODENAME"]
    made = subprocess.run(
        ["debootstrap", "--variant=minbase", suite, str(root), "http://deb.debian.org/debian"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    try:
        assert not (root / "usr/bin/python3").exists()
        shutil.copytree(bundle, root / "bundle")
        corpus.text_image(["A bare machine reads"]).save(root / "page.png")
        script = """
            export PATH=/usr/sbin:/usr/bin:/sbin:/bin
            /bundle/install.sh
            /bundle/install.sh
            /opt/tessera/bin/tessera ocr /page.png
            /opt/tessera/bin/tessera doctor
        """
        offline = ["unshare", "--net", "--mount", f"--mount-proc={root}/proc"]
        done = subprocess.run(
            [*offline, "chroot", str(root), "/bin/bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=600,
            env=_clean_env(),
        )
        out = done.stdout + done.stderr
        assert done.returncode == 0, out
        assert "installed: tesseract-ocr tesseract-ocr-osd poppler-utils python3" in out
        assert "system packages: all there" in out and "user tessera: already there" in out
        assert "A bare machine reads" in out
        assert "FAIL" not in out and "ready to serve" in out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _copy(bundle: Path, where: Path) -> Path:
    """A copy of the bundle whose files share the original's data until replaced."""
    copy = where / bundle.name
    shutil.copytree(bundle, copy, copy_function=os.link)
    return copy


def _replace(path: Path, data: bytes) -> None:
    path.unlink()  # not written through the link into the original
    path.write_bytes(data)


@needs_root
def test_refuses_a_bundle_whose_files_do_not_match(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    wheel = next((copy / "wheels").glob("tessera_ocr-*.whl"))
    _replace(wheel, wheel.read_bytes() + b"\0")
    prefix = tmp_path / "prefix"
    done = subprocess.run(
        [str(copy / "install.sh"), "--prefix", str(prefix), "--no-system"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "does not match its MANIFEST" in done.stderr and wheel.name in done.stderr
    assert not prefix.exists()
    # A file the manifest does not list is refused too.
    _replace(wheel, (bundle / "wheels" / wheel.name).read_bytes())
    (copy / "debs" / "extra_1.0_all.deb").write_bytes(b"planted")
    done = subprocess.run([str(copy / "install.sh"), "--dry-run"], capture_output=True, text=True)
    assert done.returncode == 1 and "does not list" in done.stderr
    assert "extra_1.0_all.deb" in done.stderr


@pytest.mark.parametrize(("field", "value"), [("arch", "arm64"), ("os", "debian11")])
def test_refuses_a_bundle_for_another_platform(
    bundle: Path, tmp_path: Path, field: str, value: str
) -> None:
    copy = _copy(bundle, tmp_path)
    manifest = copy / "MANIFEST"
    text = re.sub(rf"(?m)^{field} .*$", f"{field} {value}", manifest.read_text())
    _replace(manifest, text.encode())
    done = subprocess.run(
        [str(copy / "install.sh"), "--prefix", str(tmp_path / "p"), "--no-system"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert value in done.stderr and "this machine is" in done.stderr
    assert not (tmp_path / "p").exists()
