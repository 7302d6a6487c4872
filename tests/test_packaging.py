"""The Binder environment and the pip package must name the same dependencies."""
import json
import pathlib
import re

import tomllib
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
# conda-forge names of pip packages
CONDA_NAMES = {"torch": "pytorch", "gymnasium[box2d]": "gymnasium"}


def pip_names():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = meta["dependencies"] + meta["optional-dependencies"]["test"] + meta["optional-dependencies"]["book"]
    names = {re.split(r"[<>=!]", d)[0].strip().lower() for d in deps}
    return {CONDA_NAMES.get(n, n) for n in names}


def conda_names():
    """Names environment.yml installs: conda-forge packages and those only pip has (its pip: list)."""
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    pip = next((d["pip"] for d in deps if isinstance(d, dict)), [])
    names = [d for d in deps if isinstance(d, str)] + [d for d in pip if not d.startswith("-e")]
    return {re.split(r"[<>=! ]", d)[0].lower() for d in names}


def test_environment_yml_installs_the_companion_from_the_repository():
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip[-1] == "-e ."


def test_environment_yml_names_every_package_dependency():
    missing = pip_names() - conda_names()
    assert not missing, f"environment.yml lacks {sorted(missing)}"


def test_environment_yml_adds_only_the_python_toolchain_and_box2d():
    extra = conda_names() - pip_names()
    assert extra == {"python", "pip", "box2d-py"}, extra


def test_torch_is_pinned_to_the_cpu_build_version():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in text
    assert "pytorch=2.13.0=cpu" in (ROOT / "environment.yml").read_text()


def test_gymnasium_is_pinned_to_the_version_of_the_stored_results():
    versions = {json.loads(p.read_text())["versions"]["gymnasium"] for p in (ROOT / "results").glob("*.json")}
    assert len(versions) == 1, versions
    version = versions.pop()
    assert f'"gymnasium[box2d]=={version}"' in (ROOT / "pyproject.toml").read_text()
    assert f"gymnasium={version}" in (ROOT / "environment.yml").read_text()
