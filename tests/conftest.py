"""Shared fixtures. Tests that need the real digits find them as the package does:
MNIST_DATA_DIR (CI sets it to ../shared/MNIST_data), else the repository's MNIST_data/ when it
holds the four files; without either they are skipped, saying why, and under CI they fail."""
import fcntl
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def find_mnist():
    """The folder of the real MNIST files, found as the package finds them: MNIST_DATA_DIR, else
    this repository's MNIST_data/ when it holds the four files (.gz or uncompressed); None when
    neither. Absolute: CI's MNIST_DATA_DIR=../shared/MNIST_data is relative to where pytest
    starts, and tests that run a command in a scratch folder must see the same files."""
    from gan_mnist.core import data

    if os.environ.get("MNIST_DATA_DIR"):
        return os.path.abspath(os.environ["MNIST_DATA_DIR"])
    default = os.path.join(REPO, "MNIST_data")
    if all(data.find_file(default, stem) for stem in data.MNIST_FILES):
        return default
    return None


# Found once; the commands the tests start (sweep trials, scripts) inherit it, as under CI.
MNIST_DIR = find_mnist()
if MNIST_DIR:
    os.environ["MNIST_DATA_DIR"] = MNIST_DIR
NO_MNIST = ("no MNIST files: set MNIST_DATA_DIR or copy the four files into %s (see README)"
            % os.path.join(REPO, "MNIST_data"))
# Every TensorFlow session of the suite, in its processes and in the commands they start, runs
# with one thread per pool (GAN_MNIST_THREADS=1, what a sweep's trial gets from
# --cpus-per-trial 1): CI's two test processes share 2 cores, and two sessions each sized for the
# whole machine oversubscribe them. The uncapped default a user gets is checked in
# test_sweep.py::test_gan_mnist_threads_caps_every_session; a test may set its own.
os.environ.setdefault("GAN_MNIST_THREADS", "1")
# The shipped generators' checkpoint folders (gan_mnist.evaluation.pretrained) and k-means'
# answers (techniques/clusters.py) go to a cache of this test session, not the user's ~/.cache:
# one per run of pytest, shared by its processes (xdist's workers inherit it), removed at the end
# by the process that made it.
MADE_CACHE = None
if not os.environ.get("GAN_MNIST_CACHE"):
    import tempfile

    MADE_CACHE = os.environ["GAN_MNIST_CACHE"] = tempfile.mkdtemp(prefix="gan_mnist-test-cache-")


def pytest_unconfigure(config):
    if MADE_CACHE:
        shutil.rmtree(MADE_CACHE, ignore_errors=True)

# The quick tier, `python -m pytest -m quick`: a few minutes on 2 cores, every module of the
# package at least once (in-process or through its script). A file -> the tests of it in the
# tier ("*": all of them). A test may also carry @pytest.mark.quick itself.
QUICK = {
    "test_layers.py": "*", "test_losses.py": "*", "test_models.py": "*", "test_metrics.py": "*",
    "test_data.py": "*", "test_download.py": "*", "test_requirements.py": "*",
    "test_tf_compat.py": "*", "test_train_ops.py": "*", "test_classic.py": "*",
    "test_trainer.py": "*", "test_checkpoint_folders.py": "*",
    "test_cli.py": {"test_sample_without_a_model", "test_sample_png_and_npy",
                    "test_gan_mnist_dispatches_and_knows_its_version"},
    "test_config.py": {"test_recipes_set_any_field_and_flags_win",
                       "test_every_field_is_a_train_flag_with_its_declared_check",
                       "test_docs_flags_md_is_generated_and_current", "test_no_import_cycles"},
    "test_evaluate.py": {"test_a_damaged_shipped_classifier_is_refused",
                         "test_training_logs_quick_evaluation_and_keeps_best",
                         "test_evaluate_script_writes_every_number_and_figure",
                         "test_plot_script_regenerates_all_figures"},
    "test_export.py": {"test_bad_export_requests_get_one_line"},
    "test_clusters.py": {"test_kmeans_finds_two_obvious_groups_and_edges_are_their_shares",
                         "test_conditional_groups_split_each_class_and_a_class_picks_its_groups"
                         "_by_share"},
    "test_sweep.py": {"test_sets_are_parsed_and_bad_ones_refused_with_one_line",
                      "test_grid_names_and_train_flags_of_each_trial",
                      "test_halving_rungs_and_who_goes_on", "test_report_of_hand_made_trials"},
    "test_recipes.py": {"test_shapes_ranges_and_scopes", "test_recipe_presets_and_overrides"},
    "test_faults.py": {"test_damaged_newest_checkpoint_falls_back_and_is_kept",
                       "test_atomic_write_replaces_whole_files_and_keeps_the_old_one_on_failure"},
    "test_benchmark.py": {"test_unknown_variant_is_refused"},
    "test_conditional.py": {"test_the_label_changes_the_generators_digits",
                            "test_unconditional_models_have_no_label_inputs"},
    "test_stabilisers.py": {"test_hinge_losses_on_hand_made_logits",
                            "test_ema_weights_equal_the_hand_computed_average",
                            "test_spectral_norm_keeps_the_top_singular_value_near_one",
                            "test_r1_penalty_on_a_hand_made_linear_discriminator"},
    "test_web.py": {"test_without_the_tools_export_web_says_what_to_install"},
    "test_results.py": "*",
    "test_api.py": {"test_values_the_command_line_cannot_type_are_refused_too"},
    "test_pretrained.py": {"test_the_command_line_names_the_shipped_generators",
                           "test_a_damaged_shipped_generator_is_one_line",
                           "test_sample_pretrained_needs_no_mnist_files"},
}


# The slowest files first (--durations of the whole suite, 2026-12-04: about 50-220 s each), the
# others after them in their usual order. pytest-xdist's --dist loadfile hands whole files to its
# two processes in this order (pytest.ini's --no-loadscope-reorder keeps it), so the long ones no
# longer end up last on one process while the other waits: the suite's wall time is then close
# to half of the sum of its files' times.
SLOWEST_FIRST = ("test_docs_commands.py", "test_sweep_recovery.py", "test_recipes.py",
                 "test_sweep.py", "test_evaluate.py", "test_faults.py", "test_conditional.py",
                 "test_journey.py", "test_sweep_cluster.py", "test_notebook.py",
                 "test_installed.py", "test_cli.py")


def pytest_collection_modifyitems(config, items):
    def slowness(item):
        name = os.path.basename(str(item.fspath))
        return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)
    items.sort(key=slowness)  # stable: each file's tests keep their order
    for item in items:
        chosen = QUICK.get(os.path.basename(str(item.fspath)))
        if chosen == "*" or (chosen and item.originalname in chosen):
            item.add_marker(pytest.mark.quick)


def wait_for_training(proc, log, timeout=120):
    """Until ``proc`` has logged a few rows to ``log`` (training is under way), it ended, or
    ``timeout`` seconds passed: the moment a test sends its signal."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) > 3:
            return
        time.sleep(0.2)


def copy_repository(target):
    """The repository's files as a clone has them (tracked, and new ones git does not ignore),
    copied into ``target``."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if os.path.isfile(os.path.join(REPO, name)):
            os.makedirs(os.path.join(target, os.path.dirname(name)), exist_ok=True)
            shutil.copy2(os.path.join(REPO, name), os.path.join(target, name))


def exit_code_of(main, *argv):
    """A command's ``main(argv)`` run in this process, as its script runs it (``sys.exit(main())``):
    its exit code, argparse's included. For refusals that end before any work, and for runs a
    test only needs the files of, a fraction of a second instead of a process that imports
    TensorFlow (3-4 s); each command's script still runs, and refuses bad input, in a process of
    its own somewhere in the suite, stderr checked line by line."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as e:
        return e.code


def says(text, phrase):
    """How often ``text`` holds ``phrase`` as whole words and numbers: "resumed from step 40"
    is not found in "resumed from step 400", nor "ckpt-4" in "model.ckpt-40" (0, falsy)."""
    return len(re.findall(r"(?<!\w)%s(?!\w)" % re.escape(phrase), text))


@pytest.fixture(scope="session")
def mnist_dir():
    """The absolute path of the real MNIST files (find_mnist); skipped without them, except under
    CI, where that fails."""
    if MNIST_DIR is None:
        if os.environ.get("CI"):
            pytest.fail(NO_MNIST + "; CI must run these tests, not skip them", pytrace=False)
        pytest.skip(NO_MNIST)
    return MNIST_DIR


@pytest.fixture(scope="session")
def train_images(mnist_dir):
    from gan_mnist.core import data

    images, _ = data.load_split(mnist_dir, "train")
    return images


@pytest.fixture
def run_config(tmp_path, mnist_dir):
    """A Config for a short real training run in temporary folders."""
    from gan_mnist.training.config import resolve

    def make(**overrides):
        values = dict(data_dir=mnist_dir, checkpoint_dir=str(tmp_path / "ckpt"),
                      output_dir=str(tmp_path / "out"), steps=300, log_every=50)
        values.update(overrides)
        return resolve(values)
    return make


@pytest.fixture(scope="session")
def classifier_dir(mnist_dir, tmp_path_factory):
    """A classifier trained in a folder, as --classifier-dir does: one epoch (about 15 s) is
    enough to test that path. Everything else uses the classifier shipped with the package."""
    from gan_mnist.evaluation import classifier

    folder = str(tmp_path_factory.mktemp("classifier"))
    classifier.train(folder, mnist_dir, epochs=1)
    return folder


CONDITIONAL_STEPS = 200  # fast --conditional from the command line: a grid, a checkpoint and
# a quick evaluation with its label accuracy; what the labels do to trained digits is asked of
# the shipped conditional generator (conditional_model)


def session_folder(tmp_path_factory):
    """A folder every process of this test session shares: under pytest-xdist each worker's
    base temporary folder sits in the session's one."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def conditional_run(tmp_path_factory, mnist_dir):
    """CONDITIONAL_STEPS real steps of `fast --conditional` from the command line, with a quick
    evaluation and a grid at the end: checkpoints in ``c/``, outputs in ``o/``. Trained once per
    session and shared by test_conditional.py and test_web.py: whichever worker comes first
    trains it under a file lock, the other waits for it. Tests only read ``c/``."""
    root = session_folder(tmp_path_factory) / "conditional"
    with open(str(root) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "trained").exists():
            shutil.rmtree(root, ignore_errors=True)
            steps = str(CONDITIONAL_STEPS)
            result = subprocess.run(
                [sys.executable, os.path.join(REPO, "scripts", "train.py"), "--arch", "fast",
                 "--conditional", "--steps", steps, "--eval-every", steps, "--sample-every",
                 steps, "--data-dir", mnist_dir, "--checkpoint-dir", str(root / "c"),
                 "--output-dir", str(root / "o")], capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stderr
            (root / "trained").write_text("")
    return root


@pytest.fixture(scope="session")
def conditional_model():
    """The checkpoint folder of the shipped best-conditional generator (label accuracy 99.4% in
    docs/results/pretrained_best-conditional.json), made once per session in the session's
    cache: the tests that read trained digits by class (sample --label, evaluation's label
    accuracy and intra-FID, export's labels, the web page's class picker) read it."""
    from gan_mnist.evaluation import pretrained

    return pretrained.checkpoint_dir("best-conditional")
