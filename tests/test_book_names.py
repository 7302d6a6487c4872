"""Every companion name the book mentions in backticks (`module.name` or `companion.module.name`) exists."""
import importlib
import json
import pkgutil
import re
from pathlib import Path

import companion

ROOT = Path(__file__).resolve().parent.parent
MODULES = {m.name for m in pkgutil.iter_modules(companion.__path__)}
NAME = re.compile(r"`(?:companion\.)?((?:%s)(?:\.\w+)+)(?:\([^`]*\))?`" % "|".join(sorted(MODULES)))


def book_text():
    """(file, text) of every chapter's markdown cells and the book's markdown pages."""
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        yield path.name, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for path in sorted((ROOT / "book").glob("*.md")):
        yield path.name, path.read_text()


def resolves(dotted):
    """Import the longest module prefix of ``companion.<dotted>``, then follow attributes."""
    parts = ("companion." + dotted).split(".")
    for cut in range(len(parts), 1, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_the_book_mentions_companion_names():
    mentioned = [m for _, text in book_text() for m in NAME.findall(text)]
    assert len(mentioned) >= 10, mentioned


def test_every_companion_name_in_the_book_resolves():
    missing = sorted({f"{name}: {m}" for name, text in book_text() for m in NAME.findall(text) if not resolves(m)})
    assert not missing, "names the book mentions that the companion lacks:\n" + "\n".join(missing)
