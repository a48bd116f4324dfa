"""Keep the lessons small and honest in git: store only the outputs that nbval checks.

    python scripts/nbstrip.py notebooks/*.ipynb            # strip in place
    python scripts/nbstrip.py --execute notebooks/*.ipynb  # run each on the live engine first

Cells marked ``# NBVAL_CHECK_OUTPUT`` keep their outputs and execution count (from a real run: that is
what nbval compares against); every other cell is stored without outputs or count, and widget state is dropped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

CHECK = "# NBVAL_CHECK_OUTPUT"


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop every output except those of checked cells, and all execution noise."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in ("tags",)}
        if cell.cell_type != "code":
            continue
        if CHECK not in cell.source:
            cell.execution_count = None  # nbval rejects stored outputs of a cell with no count
            cell.outputs = []
    return nb


def execute(nb: nbformat.NotebookNode, where: Path) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in its own folder, as a learner would."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(where)}}).execute()
    return nb


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--execute", action="store_true")
    p.add_argument("notebooks", nargs="+", type=Path)
    args = p.parse_args()
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.execute:
            nb = execute(nb, path.parent)
        nbformat.write(strip(nb), path)
        print(f"{path}: {path.stat().st_size / 1000:.1f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
