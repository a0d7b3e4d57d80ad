"""The distribution: the wheel and the sdist build, the wheel holds the four packages and
nothing else, and it installs beside a torch other than this machine's pin, leaving it as
it is (users install beside their own CUDA build of torch).

The fresh virtual environment sees this environment's packages through a ``.pth`` line
(nothing is downloaded), while its own site-packages, first on its path, holds a stub
distribution ``torch 99.0``: pip must take it as satisfying ``torch>=2.13`` and keep it.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("rstheory", "sampler", "proofs_check", "rsvlm")
STUB_VERSION = "99.0"


def _run(*cmd, cwd, env=None) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )
    assert out.returncode == 0, f"{cmd}\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """The wheel and the sdist, built from a copy of the tracked files (the working tree
    gets no build folders), with setuptools' PEP 517 hooks and no network."""
    tmp = tmp_path_factory.mktemp("dist")
    src = tmp / "src"
    files = _run("git", "ls-files", "-z", cwd=ROOT).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp / "out"
    out.mkdir()
    for hook in ("build_wheel", "build_sdist"):  # one process each, as a build frontend does
        code = f"import sys\nfrom setuptools import build_meta\nbuild_meta.{hook}(sys.argv[1])"
        _run(sys.executable, "-c", code, out, cwd=src)
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    return wheel, sdist


def test_wheel_holds_the_packages_and_nothing_else(dists):
    wheel, _ = dists
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == set(PACKAGES), tops
    assert not [n for n in names if "/tests/" in n or n.endswith(".ipynb")], names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info.pop()}/METADATA").decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    # torch is a range in the sampler extra, never a pin and never a core dependency
    torch_lines = [line for line in requires if line.split()[1].startswith("torch")]
    assert torch_lines and all(
        "extra ==" in line and "==" not in line.split(";")[0] for line in torch_lines
    )
    assert all("torch" not in line for line in requires if "extra ==" not in line)


def test_sdist_holds_the_sources(dists):
    _, sdist = dists
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    root = names[0].split("/")[0]
    for needed in ("pyproject.toml", "README.md", "rstheory/__init__.py", "sampler/_run.py"):
        assert f"{root}/{needed}" in names, needed
    assert not [n for n in names if "/.venv/" in n or "__pycache__" in n]


def _stub_torch_wheel(where: pathlib.Path) -> pathlib.Path:
    """A wheel of a distribution named torch, version 99.0, whose module says so."""
    wheel = where / f"torch-{STUB_VERSION}-py3-none-any.whl"
    info = f"torch-{STUB_VERSION}.dist-info"
    with zipfile.ZipFile(wheel, "w") as z:
        # a version and the one name array libraries probe for (``torch.Tensor``)
        module = f'__version__ = "{STUB_VERSION}"\n\n\nclass Tensor:\n    pass\n'
        z.writestr("torch/__init__.py", module)
        z.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: torch\nVersion: {STUB_VERSION}\n"
        )
        z.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: stub\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        z.writestr(
            f"{info}/RECORD",
            f"torch/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n",
        )
    return wheel


def test_wheel_installs_beside_another_torch(dists, tmp_path):
    wheel, _ = dists
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = pathlib.Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
        ).stdout.strip()
    )
    # this environment's packages, after the fresh site-packages on the path
    (site / "outer.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # no index, no machine-wide pip configuration (its constraints would pin torch)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("PIP_")
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    pip = (sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check")
    _run(
        *pip,
        "install",
        "--no-index",
        "--no-deps",
        _stub_torch_wheel(tmp_path),
        cwd=tmp_path,
        env=env,
    )
    _run(*pip, "install", "--no-index", f"{wheel}[sampler]", cwd=tmp_path, env=env)

    listing = _run(*pip, "list", "--format=freeze", "--path", site, cwd=tmp_path, env=env).stdout
    assert f"torch=={STUB_VERSION}" in listing.splitlines(), listing
    check = (
        "import torch, rstheory, sampler, proofs_check\n"
        "print(torch.__version__)\n"
        "print(rstheory.__file__)\n"
        "print(float(rstheory.cp_lower(990, 1000, alpha=0.001)))"
    )
    out = _run(python, "-c", check, cwd=tmp_path, env=env).stdout.split()
    assert out[0] == STUB_VERSION
    assert pathlib.Path(out[1]).is_relative_to(site), out[1]  # the wheel's copy, not the tree
    assert 0.97 < float(out[2]) < 0.99
    helped = _run(venv / "bin" / "rstheory", "--help", cwd=tmp_path, env=env).stdout
    assert "usage: rstheory" in helped
