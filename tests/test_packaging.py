"""Packaging: the wheel and sdist carry every runtime resource and work from a fresh virtual
environment outside the repo; the Linux desktop files validate; the desktop entry installs and
uninstalls cleanly under $XDG_DATA_HOME."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from configparser import ConfigParser
from pathlib import Path

import pytest

import stsstudio
from stsstudio import desktop_entry

REPO = Path(__file__).resolve().parents[1]
LINUX = REPO / "packaging" / "linux"
DESKTOP = LINUX / f"{stsstudio.APP_ID}.desktop"
METAINFO = LINUX / f"{stsstudio.APP_ID}.metainfo.xml"
MIME_XML = LINUX / "stsstudio-mime.xml"
ICON_SIZES = ("16", "32", "48", "64", "128", "256")

# Every file the app reads at run time, as a path inside the installed package.
RUNTIME_RESOURCES = [
    "stsstudio/resources/guidelines.md",
    "stsstudio/resources/demo/demo_pairs.csv",
    "stsstudio/resources/icons/stsstudio.svg",
    *(f"stsstudio/resources/icons/hicolor/{s}/stsstudio.png" for s in ICON_SIZES),
    f"stsstudio/resources/linux/{stsstudio.APP_ID}.desktop",
    f"stsstudio/resources/linux/{stsstudio.APP_ID}.metainfo.xml",
    "stsstudio/resources/linux/stsstudio-mime.xml",
]


def _clean_env(tmp: Path) -> dict[str, str]:
    """An environment for a child process that cannot see the repo through PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env.update(HF_HUB_OFFLINE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1",
               STSSTUDIO_DATA_DIR=str(tmp / "userdata"), XDG_DATA_HOME=str(tmp / "xdg"))
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (f"{cmd} exited {proc.returncode}\n"
                                  f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc.stdout


# ------------------------------------------------------------------------------------------
# wheel and sdist


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build the sdist, then the wheel from that sdist (as `python -m build` does), without network.

    Building the wheel from the sdist also proves the sdist is complete, and it keeps stale files in
    the repo's build/ folder out of the wheel.
    """
    pytest.importorskip("build", reason="the `build` package is in the test extra")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
                          cwd=out, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"python -m build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    (wheel,) = out.glob("stsstudio-*.whl")
    (sdist,) = out.glob("stsstudio-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_wheel_contains_every_runtime_resource(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as zf:
        names = set(zf.namelist())
        entry_points = zf.read(f"stsstudio-{stsstudio.__version__}.dist-info/entry_points.txt").decode()
    missing = [r for r in RUNTIME_RESOURCES if r not in names]
    assert not missing, f"missing from the wheel: {missing}"
    # `packages` in pyproject.toml is an explicit list: a new subpackage must be added there.
    sources = {p.relative_to(REPO).as_posix() for p in (REPO / "stsstudio").rglob("*.py")}
    assert not sorted(sources - names), "add the new subpackage to [tool.setuptools] packages"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "[gui_scripts]\nstsstudio = stsstudio.__main__:main" in entry_points
    assert "[console_scripts]\nstsstudio-cli = stsstudio.__main__:main" in entry_points


def test_sdist_contains_resources_and_bundle_recipe(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    expected = ["pyproject.toml", "README.md", "resources/guidelines.md", "resources/demo/demo_pairs.csv",
                "resources/icons/stsstudio.svg", f"packaging/linux/{stsstudio.APP_ID}.desktop",
                "packaging/stsstudio.spec", "packaging/build_bundle.py", "packaging/launcher.py"]
    assert not [e for e in expected if e not in names], sorted(names)


@pytest.fixture(scope="module")
def venv(dists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (with the system site packages, so torch is not installed again) holding the wheel."""
    root = tmp_path_factory.mktemp("venv")
    target = root / "venv"
    env = _clean_env(root)
    # No pip of its own (ensurepip is the slow part): the system pip, run by the venv's python,
    # installs into the venv. --ignore-installed because the repo's editable install is visible.
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(target)], root, env)
    _run([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
          "--ignore-installed", str(dists["wheel"])], root, env)
    return target


def test_installed_wheel_works_outside_the_repo(venv: Path, tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    exe = venv / "bin" / "stsstudio"
    assert exe.is_file() and (venv / "bin" / "stsstudio-cli").is_file()

    # The wheel, not the repo's editable install, is what runs, and it finds its resources in the venv.
    probe = ("import json, stsstudio, stsstudio.desktop_entry as d;"
             "from stsstudio.core import resources as r;"
             "print(json.dumps({'pkg': stsstudio.__file__, 'demo': str(r.demo_csv()),"
             " 'demo_ok': r.demo_csv().is_file(), 'guide': len(r.read_text('guidelines.md')),"
             " 'icon_ok': r.icon_path('stsstudio').is_file(), 'plan': [str(p) for p in d.planned_files()]}))")
    info = json.loads(_run([str(venv / "bin" / "python"), "-c", probe], tmp_path, env))
    venv_real = venv.resolve()
    assert Path(info["pkg"]).resolve().is_relative_to(venv_real), info["pkg"]
    assert Path(info["demo"]).resolve().is_relative_to(venv_real), info["demo"]
    assert not Path(info["demo"]).resolve().is_relative_to(REPO)
    assert info["demo_ok"] and info["icon_ok"] and info["guide"] > 100
    assert len(info["plan"]) == 1 + len(ICON_SIZES) + 2

    assert "usage: stsstudio" in _run([str(exe), "--help"], tmp_path, env)
    assert stsstudio.__version__ in _run([str(venv / "bin" / "stsstudio-cli"), "--version"], tmp_path, env)
    assert "Created project" in _run([str(exe), "new", "P", "--name", "Wheel test"], tmp_path, env)
    stats = json.loads(_run([str(exe), "info", "P", "--json"], tmp_path, env))
    assert stats["name"] == "Wheel test" and stats["pairs"] == 0
    assert (tmp_path / "P" / "project.stsproj").is_file()

    # The desktop entry from the wheel launches the venv's own script.
    out = _run([str(exe), "--install-desktop-entry"], tmp_path, env)
    installed = tmp_path / "xdg" / "applications" / f"{stsstudio.APP_ID}.desktop"
    assert str(installed) in out
    assert _desktop_keys(installed)["Exec"] == f"{exe} %f"


# ------------------------------------------------------------------------------------------
# the Linux desktop files


def _desktop_keys(path: Path) -> dict[str, str]:
    parser = ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def _validate_desktop(path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (Debian package desktop-file-utils)")
    proc = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=30)
    # It exits 0 on hints too; errors and warnings are what make a desktop ignore or mangle the file.
    problems = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "error:" in ln or "warning:" in ln]
    assert proc.returncode == 0 and not problems, proc.stdout + proc.stderr


def test_desktop_file_validates() -> None:
    _validate_desktop(DESKTOP)


def test_metainfo_validates() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (Debian package appstream)")
    proc = subprocess.run([tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_desktop_metainfo_and_mime_agree() -> None:
    """The three files name the same application, MIME type and version as the package."""
    keys = _desktop_keys(DESKTOP)
    meta = ET.parse(METAINFO).getroot()
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime_types = [m.get("type") for m in ET.parse(MIME_XML).getroot().findall("m:mime-type", ns)]
    assert meta.findtext("id") == stsstudio.APP_ID
    assert meta.findtext("launchable") == DESKTOP.name
    assert keys["Icon"] == desktop_entry.ICON_NAME
    assert keys["MimeType"].rstrip(";").split(";") == mime_types
    assert meta.findtext("provides/mediatype") in mime_types
    assert meta.findtext("provides/binary") == "stsstudio"
    # The project document is <folder>/project.stsproj: the MIME glob must match it.
    globs = [g.get("pattern") for g in ET.parse(MIME_XML).getroot().iter(f"{{{ns['m']}}}glob")]
    assert "*.stsproj" in globs
    versions = [r.get("version") for r in meta.iter("release")]
    pyproject_version = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert pyproject_version and pyproject_version[1] == stsstudio.__version__ == versions[0]
    images = [i.text for i in meta.findall("screenshots/screenshot/image")]
    assert images and all(i and i.startswith("https://") for i in images), images


# ------------------------------------------------------------------------------------------
# stsstudio --install-desktop-entry / --uninstall-desktop-entry


def test_desktop_entry_install_and_uninstall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    # A launcher path with a space and a quote must survive the Exec quoting rules.
    odd = tmp_path / "my apps" / 'it"s' / "stsstudio"
    odd.parent.mkdir(parents=True)
    odd.write_text("#!/bin/sh\n")
    odd.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(odd)])
    # Someone else's files in the same folders must survive the uninstall.
    foreign = [tmp_path / "applications" / "other.desktop",
               tmp_path / "icons" / "hicolor" / "48x48" / "apps" / "o.png"]
    for f in foreign:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x")

    assert desktop_entry.main(desktop_entry.INSTALL_FLAG) == 0
    out = capsys.readouterr().out
    plan = list(desktop_entry.planned_files(tmp_path))
    assert all(p.is_file() and str(p) in out for p in plan)
    desktop = tmp_path / "applications" / f"{stsstudio.APP_ID}.desktop"
    assert desktop in plan
    for size in ICON_SIZES:
        png = tmp_path / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "stsstudio.png"
        shipped = REPO / "resources" / "icons" / "hicolor" / size / "stsstudio.png"
        assert png.read_bytes() == shipped.read_bytes()
    svg = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "stsstudio.svg"
    assert svg.read_bytes() == (REPO / "resources" / "icons" / "stsstudio.svg").read_bytes()
    assert (tmp_path / "mime" / "packages" / f"{stsstudio.APP_ID}.xml").read_bytes() == MIME_XML.read_bytes()
    keys = _desktop_keys(desktop)
    # Desktop-file string escaping doubles the backslash that Exec quoting put before the quote.
    assert keys["Exec"] == '"' + str(odd).replace('"', '\\\\"') + '" %f'
    assert keys["TryExec"] == str(odd)
    assert {k: v for k, v in keys.items() if k not in ("Exec", "TryExec")} == \
        {k: v for k, v in _desktop_keys(DESKTOP).items() if k not in ("Exec", "TryExec")}
    _validate_desktop(desktop)

    # Installing twice is harmless; uninstalling removes exactly our files.
    assert desktop_entry.main(desktop_entry.INSTALL_FLAG) == 0
    assert desktop_entry.main(desktop_entry.UNINSTALL_FLAG) == 0
    out = capsys.readouterr().out
    assert not [p for p in plan if p.exists()]
    assert all(str(p) in out for p in plan)
    assert all(f.read_text() == "x" for f in foreign)
    assert desktop_entry.main(desktop_entry.UNINSTALL_FLAG) == 0
    assert "No STS Studio desktop entry was installed" in capsys.readouterr().out


def test_desktop_entry_launcher_without_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Started as `python -m stsstudio` from an interpreter with no script beside it."""
    monkeypatch.setattr(sys, "argv", ["-m"])
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python3"))
    assert desktop_entry.launcher_command() == [str(tmp_path / "python3"), "-m", "stsstudio"]
    rendered = desktop_entry.render_desktop_file(DESKTOP.read_text(), ["/opt/py 3/python", "-m", "stsstudio"])
    assert 'Exec="/opt/py 3/python" -m stsstudio %f' in rendered.splitlines()


def test_desktop_entry_elsewhere_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert desktop_entry.main(desktop_entry.INSTALL_FLAG) == 2
    assert "Linux" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
