"""The SavedModel's ``generate`` signature as a TFLite file that keeps the signature, so
``Interpreter.get_signature_runner("generate")(z=...)`` works as docs/usage.md shows.

Only TensorFlow's TF2 converter writes signatures into the file, and it needs eager execution,
which a process that has imported gan_mnist.tf_compat has turned off for its graphs. So the
conversion runs in a child Python with plain TensorFlow: ``python -m gan_mnist.export.tflite
SAVED_MODEL OUT``.
"""
import os
import subprocess
import sys

from gan_mnist import PACKAGE_DIR
from gan_mnist.errors import GanError

SIGNATURE = "generate"
CONVERT_SECONDS = 900  # a generator converts in seconds; far longer means a hung converter


def convert(saved_model_dir, path):
    """Write ``path``, the ``generate`` signature of the SavedModel in ``saved_model_dir``."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.dirname(PACKAGE_DIR),
                                                      env.get("PYTHONPATH")]))
    try:
        result = subprocess.run([sys.executable, "-m", __name__, saved_model_dir, path],
                                env=env, capture_output=True, text=True, timeout=CONVERT_SECONDS)
    except subprocess.TimeoutExpired:
        raise GanError("the TFLite converter took more than %d minutes and was stopped"
                       % (CONVERT_SECONDS // 60))
    if result.returncode != 0 or not os.path.isfile(path):
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise GanError("the TFLite converter failed: %s"
                       % (lines[-1] if lines else "exit status %d" % result.returncode))


def main(argv):
    import tensorflow as tf  # plain TensorFlow 2, eager: the converter that keeps signatures

    saved_model_dir, path = argv
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir,
                                                         signature_keys=[SIGNATURE])
    flatbuffer = converter.convert()
    with open(path, "wb") as f:
        f.write(flatbuffer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
