"""Every command the README prints works as printed on a clone where `make book` or `make test` ran."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ".venv/bin/python"


def readme_commands():
    """The command lines of the README's bash blocks, comments stripped."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


def make_targets():
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


def cli(arguments, *extra):
    """Run the companion's command line as the README prints it, with this test's interpreter."""
    return subprocess.run([sys.executable, "-m", "companion", *arguments, *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_readme_prints_commands():
    commands = readme_commands()
    assert any(c.startswith("make ") for c in commands) and any(c.startswith(PYTHON) for c in commands)


def test_every_command_is_a_make_target_or_the_venv_companion():
    targets = make_targets()
    for command in readme_commands():
        words = shlex.split(command)
        if words[0] == "make":
            assert words[1] in targets, f"README: `{command}`: no such make target"
        else:
            assert words[:3] == [PYTHON, "-m", "companion"], f"README: `{command}` fails on a fresh clone"


def test_every_companion_command_is_accepted():
    """Each printed sub-command parses (its --help), and the cheap one, list, runs to the end."""
    for command in readme_commands():
        words = shlex.split(command)
        if words[0] == PYTHON:
            done = cli(words[3:4], "--help")
            assert done.returncode == 0, f"`{command}`: {done.stderr[-500:]}"
    listed = cli(["list"])
    assert listed.returncode == 0 and "map_cartpole" in listed.stdout, listed.stderr[-500:]


def test_make_list_runs_the_companion_list():
    dry = subprocess.run(["make", "-n", "list"], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0 and "-m companion list" in dry.stdout, dry.stdout + dry.stderr
