"""The documentation's code runs: docs/examples/threaded_service.py as a script, and every
```python block of docs/python.md whose first line is ``# doctest: run``, each in a fresh
namespace."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from support import run_python

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "threaded_service.py"
GUIDE = ROOT / "docs" / "python.md"
RUN_MARKER = "# doctest: run"

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def runnable_blocks(text: str) -> list[tuple[int, str]]:
    """(line number of the block's first code line, code) of every runnable python block."""
    blocks = []
    for match in _FENCE.finditer(text):
        code = match.group(1)
        if code.lstrip().startswith(RUN_MARKER):
            line = text.count("\n", 0, match.start(1)) + 1
            blocks.append((line, code))
    return blocks


BLOCKS = runnable_blocks(GUIDE.read_text(encoding="utf-8"))


@pytest.mark.timeout(90)
def test_threaded_service_example_runs() -> None:
    result = run_python([str(EXAMPLE)], timeout=60, what="the threaded service example")
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stdout.rstrip().endswith("ok"), result.stdout


def test_guide_has_runnable_blocks() -> None:
    # Guards the convention itself: a renamed marker or a broken fence would otherwise make
    # the parametrized test below run nothing.
    assert len(BLOCKS) >= 8, [line for line, _ in BLOCKS]
    fenced = len(re.findall(r"^```python", GUIDE.read_text(encoding="utf-8"), re.MULTILINE))
    assert len(_FENCE.findall(GUIDE.read_text(encoding="utf-8"))) == fenced


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"python.md:{n}" for n, _ in BLOCKS])
def test_guide_block_runs(line: int, code: str) -> None:
    # A fresh module per block (dataclasses and pickle look the module up in sys.modules), the
    # block compiled without this file's __future__ flags, line numbers pointing into the guide.
    name = f"_docs_python_md_{line}"
    module = types.ModuleType(name)
    compiled = compile("\n" * (line - 1) + code, str(GUIDE), "exec", dont_inherit=True)
    sys.modules[name] = module
    try:
        exec(compiled, module.__dict__)
    finally:
        del sys.modules[name]
