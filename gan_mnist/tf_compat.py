"""One place that imports TensorFlow in TF1 graph mode, quietly.

Every module that builds graphs does ``from gan_mnist.tf_compat import tf``. CI tests it on the
oldest and the newest TensorFlow that requirements.txt allows (TensorFlow 1.x was never tried).

TensorFlow's native start-up prints half a dozen lines to stderr (the oneDNN note, "Could not find
cuda drivers", "failed call to cuInit" on a machine without a GPU) before its own log level
applies. They read like failures and are not, so the import and the first look for devices run
with the process's stderr (file descriptor 2) captured, and only those known start-up lines are
dropped: anything else TensorFlow says there is passed on. ``GAN_MNIST_VERBOSE=1`` (what the
scripts' ``--verbose`` sets) shows everything.
"""
import contextlib
import os
import re
import sys
import tempfile

VERBOSE = os.environ.get("GAN_MNIST_VERBOSE", "") not in ("", "0")

# Harmless start-up lines of TensorFlow's native code, matched one line at a time.
STARTUP_NOISE = re.compile("|".join([
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"port\.cc:\d+\] oneDNN custom operations are on",
    r"cudart_stub\.cc:\d+\] Could not find cuda drivers",
    r"cuda_platform\.cc:\d+\] failed call to cuInit",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation placer already registered",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions: .* in other operations, rebuild TensorFlow",
    r"TF-TRT Warning: Could not find TensorRT",
]))

# TensorFlow's graph optimiser (grappler) rewrites a graph on the first run of each set of
# fetches. On the convolutional recipes' fused D-then-G step its "remapper" pass (op fusions)
# fails and is skipped, the graph running as built, and it says so in an error line ("E0000 ...
# remapper failed: INVALID_ARGUMENT: Mutation::Apply error: fanout ...") that reads like a
# failure of the run. The trainer runs each step op's first call inside
# ``without_native_noise(GRAPPLER_NOISE)``.
GRAPPLER_NOISE = re.compile(r"meta_optimizer\.cc:\d+\] remapper failed: INVALID_ARGUMENT: "
                            r"Mutation::Apply error: fanout ")


@contextlib.contextmanager
def without_native_noise(noise=STARTUP_NOISE):
    """Capture what is written to file descriptor 2 meanwhile; pass on the lines that do not match
    ``noise``. Does nothing with GAN_MNIST_VERBOSE set."""
    if VERBOSE:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines(True):
                if not noise.search(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


if not VERBOSE:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide C++ info/warning chatter

# TensorFlow's import ends by importing Keras 3's optimizers "so that" Keras objects register
# for SavedModel loading (tensorflow/__init__.py), which also imports Matplotlib: 0.7 of its 3.7
# seconds, in every command, for a library this package never uses in graph mode. A None in
# sys.modules makes that one import fail, which TensorFlow catches; the entry is taken out again
# right after, so ``import keras`` later (the benchmark's Keras rewrite) works as usual.
_SKIPPED = "keras.src.optimizers"
_skip_keras = _SKIPPED not in sys.modules
if _skip_keras:
    sys.modules[_SKIPPED] = None
with without_native_noise():
    try:
        import tensorflow.compat.v1 as tf  # noqa: E402
    finally:
        if _skip_keras and sys.modules.get(_SKIPPED, 0) is None:
            del sys.modules[_SKIPPED]

    tf.config.list_physical_devices()  # the GPU look-up (and its cuInit line) happens here, once

if not VERBOSE:
    tf.get_logger().setLevel("ERROR")  # deprecation notices of the compat.v1 API are expected
tf.disable_v2_behavior()
# Resource variables give well-defined read-after-write ordering, which the fused D-then-G step
# relies on; they are also what TF2 uses everywhere.
tf.enable_resource_variables()

# GAN_MNIST_THREADS=N caps every session at N threads (sweeps set it to --cpus-per-trial, so
# trials side by side do not fight over the cores); unset or 0: TensorFlow's choice.
THREADS = int(os.environ.get("GAN_MNIST_THREADS") or 0)


def session_config(intra_op_threads=0):
    """A ConfigProto for our sessions: ``intra_op_threads`` (0: TensorFlow's default), both
    pools capped by GAN_MNIST_THREADS when it is set."""
    if THREADS:
        intra_op_threads = min(intra_op_threads or THREADS, THREADS)
    return tf.ConfigProto(allow_soft_placement=True, intra_op_parallelism_threads=intra_op_threads,
                          inter_op_parallelism_threads=THREADS)


__all__ = ["tf", "without_native_noise", "session_config", "GRAPPLER_NOISE"]
