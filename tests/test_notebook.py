"""notebooks/tour.ipynb: stored without outputs, and executed top to bottom by nbclient in a fresh
kernel, as a reader runs it, with GAN_MNIST_TOUR_STEPS shortening every training cell to a few
steps (and its loops to two pieces). Any error in any cell fails the test.

``python tests/test_notebook.py`` strips the outputs from the stored notebook (after running it in
Jupyter, before committing it).
"""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(REPO, "notebooks", "tour.ipynb")
TOUR_STEPS = 50  # steps per training cell under CI, instead of its minutes
QUICK_PIECES = 2  # the tour's PIECES under CI: its loops train in two pieces instead of six
STRIP = "python tests/test_notebook.py"


def nbformat_or_skip():
    try:
        import nbclient  # noqa: F401
        import nbformat
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must install requirements-notebook.txt (nbclient, nbformat, "
                        "ipykernel)")
        pytest.skip("the notebook tools are not installed: pip install -r "
                    "requirements-notebook.txt")
    return nbformat


def strip(notebook):
    """The notebook without outputs, execution counts or per-run metadata."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata = {}
    notebook.metadata.pop("widgets", None)
    return notebook


def test_the_tour_is_stored_without_outputs():
    nbformat = nbformat_or_skip()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert len(code) >= 7
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, \
            "notebooks/tour.ipynb holds outputs: run %s to strip them" % STRIP
    # The tour calls the package; it holds no training code of its own.
    source = "\n".join(c.source for c in code)
    for word in ("tf.", "Session", "AdamOptimizer", "import tensorflow"):
        assert word not in source, word


def test_the_tour_runs_top_to_bottom(tmp_path, mnist_dir, monkeypatch):
    nbformat = nbformat_or_skip()
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert "PIECES = %d if QUICK_STEPS else 6" % QUICK_PIECES in "".join(
        c.source for c in notebook.cells)
    monkeypatch.setenv("GAN_MNIST_TOUR_STEPS", str(TOUR_STEPS))
    monkeypatch.setenv("MNIST_DATA_DIR", mnist_dir)
    # The kernel imports the package from this checkout, as after pip install -e .
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first error
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    # The grids of fc, its resume, best, the six figures and the sevens.
    assert len(images) >= 10, len(images)
    fc_steps = (QUICK_PIECES + 1) * TOUR_STEPS  # the pieces, then the resume
    assert "resumed at step %d, stopped at step %d" % (QUICK_PIECES * TOUR_STEPS, fc_steps) \
        in text, text
    assert "FID vs test set" in text and "precision" in text
    assert "of 16 as a 7" in text
    tour = tmp_path / "tour"
    assert (tour / "sevens.png").exists()
    for folder in ("fc", "best", "conditional"):
        assert (tour / folder / "config.json").exists(), folder
    assert (tour / "best" / "clusters.npy").exists()  # the best recipe's k-means groups


def test_the_first_cell_installs_the_package_only_where_it_is_missing(tmp_path, monkeypatch):
    """In a kernel that cannot import gan_mnist (a hosted service), the first code cell runs pip
    on GAN_MNIST_SOURCE (here a dry run of this checkout, so nothing is installed); where the
    package imports, it runs nothing."""
    nbformat = nbformat_or_skip()
    from nbclient import NotebookClient

    first = next(c for c in nbformat.read(NOTEBOOK, as_version=4).cells
                 if c.cell_type == "code")
    assert "%pip install" in first.source
    said = {}
    for where, path in (("missing", ""), ("there", REPO)):
        monkeypatch.setenv("PYTHONPATH", path)
        monkeypatch.setenv("GAN_MNIST_SOURCE", "--dry-run --no-deps --no-build-isolation "
                                                "--no-index " + REPO)
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(first.source)])
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        said[where] = "".join(o.get("text", "") for o in notebook.cells[0].outputs)
    # IPython's %pip says this after pip ran; pip itself is quiet (--quiet) unless it fails.
    assert "restart the kernel to use updated packages" in said["missing"], said
    assert "ERROR" not in said["missing"], said
    assert said["there"] == "", said


if __name__ == "__main__":
    import nbformat

    notebook = strip(nbformat.read(NOTEBOOK, as_version=4))
    nbformat.write(notebook, NOTEBOOK)
    print("stripped the outputs of %s" % NOTEBOOK)
    sys.exit(0)
