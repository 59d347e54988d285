"""``export.py --web DIR``: the generator in a static web page that runs it in the browser.

The folder holds ``index.html`` and ``app.js`` (the page, from ``gan_mnist/assets/web/``),
``model.js`` (the generator converted to ONNX, with its noise size and classes) and the browser
runtime of ONNX Runtime Web: ``ort.wasm.min.js`` and ``ort-runtime.js`` (its WebAssembly
module, gzipped, and the module's loader, as text). Everything is a classic script, so the page
works opened from disk (``file://``, where a browser refuses ``fetch`` and module scripts) as
well as from any static file server, with no network: nothing comes from a CDN.

How the generator gets there: ``export.export`` writes the SavedModel, and tf2onnx converts its
``generate`` signature (z[, label] -> uint8 digits) to ONNX. We use ONNX Runtime Web rather than
TensorFlow.js because its converter installs beside the TensorFlow we run and converts it
exactly: tf2onnx 1.17 needs only onnx, protobuf and flatbuffers, and its model gives the same
uint8 digits as TensorFlow (docs/web.md). The tensorflowjs 4.22 converter imports
tensorflow_decision_forests when it loads, whose newest release (1.12.0) requires
tensorflow==2.19.0, and it also requires jax, jaxlib, flax and tf-keras.

The tools are optional (``requirements-web.txt``: tf2onnx; npm: ``web/package.json``); without
them the command says in one line what to install.
"""
import base64
import gzip
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

from gan_mnist import PACKAGE_DIR
from gan_mnist.assets import ASSETS_DIR
from gan_mnist.errors import GanError
from gan_mnist.files import new_folder

RUNTIME_PACKAGE = "onnxruntime-web"
RUNTIME_VERSION = "1.30.0"  # the version web/package.json pins
RUNTIME_JS = "ort.wasm.min.js"  # the WebAssembly-only build: no WebGPU / WebGL code
RUNTIME_GLUE = "ort-wasm-simd-threaded.mjs"
RUNTIME_WASM = "ort-wasm-simd-threaded.wasm"
OPSET = 17  # ONNX opset of the converted model (onnxruntime-web runs up to 21 and beyond)
ASSETS = os.path.join(ASSETS_DIR, "web")
PAGE_FILES = ("index.html", "app.js")
MODEL_FILE, RUNTIME_FILE = "model.js", "ort-runtime.js"
REPOSITORY = os.path.dirname(PACKAGE_DIR)
INSTALL_CONVERTER = ("the converter tf2onnx (pip install -r requirements-web.txt, or "
                     "pip install .[web])")
INSTALL_RUNTIME = ("the browser runtime %s from npm (in the repository: npm ci --prefix web; "
                   "elsewhere: npm install %s@%s in the current folder, or set "
                   "GAN_MNIST_ORT_DIR to its dist folder)"
                   % (RUNTIME_PACKAGE, RUNTIME_PACKAGE, RUNTIME_VERSION))


def runtime_dir():
    """The installed npm package's ``dist`` folder with the three runtime files, or None.
    Looked for in $GAN_MNIST_ORT_DIR, ./node_modules, then the repository's web/node_modules."""
    tail = os.path.join("node_modules", RUNTIME_PACKAGE, "dist")
    for folder in (os.environ.get("GAN_MNIST_ORT_DIR"), os.path.join(os.getcwd(), tail),
                   os.path.join(REPOSITORY, "web", tail)):
        if folder and all(os.path.isfile(os.path.join(folder, f))
                          for f in (RUNTIME_JS, RUNTIME_GLUE, RUNTIME_WASM)):
            return folder
    return None


def check_tools():
    """Refuse, in one line naming what to install, when the converter or the runtime is
    missing; return the runtime's folder."""
    missing = []
    if importlib.util.find_spec("tf2onnx") is None:
        missing.append(INSTALL_CONVERTER)
    folder = runtime_dir()
    if folder is None:
        missing.append(INSTALL_RUNTIME)
    if missing:
        raise GanError("export --web needs " + " and ".join(missing))
    return folder


def runtime_version(folder):
    try:
        with open(os.path.join(os.path.dirname(folder), "package.json")) as f:
            return json.load(f).get("version", "unknown")
    except (OSError, ValueError):
        return "unknown"


def to_onnx(saved_model, out_path):
    """Convert the SavedModel's ``generate`` signature with tf2onnx (in its own process: it
    runs TensorFlow 2 behaviour, which this process has switched off)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", saved_model,
               "--signature_def", "generate", "--tag", "serve", "--opset", str(OPSET),
               "--output", out_path]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode or not os.path.isfile(out_path):
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise GanError("tf2onnx could not convert the generator: %s"
                       % (lines[-1] if lines else "exit status %d" % result.returncode))


def _js_value(name, value, comment):
    return "// %s\nvar %s = %s;\n" % (comment, name, json.dumps(value))


def write(checkpoint_dir, out_dir):
    """Write the page for the newest checkpoint's generator into ``out_dir`` (which must not
    exist yet); return (the checkpoint's step, the files written)."""
    runtime = check_tools()
    from gan_mnist.export import saved_model as export
    from gan_mnist.evaluation import sampling

    model = sampling.newest_model(checkpoint_dir)
    config = model.config
    with new_folder(out_dir, "--web folder") as parent:
        scratch = tempfile.mkdtemp(prefix=".web-", dir=parent)
        try:
            saved_model = os.path.join(scratch, "saved_model")
            step, _ = export.export_model(model, saved_model)
            onnx_path = os.path.join(scratch, "generator.onnx")
            to_onnx(saved_model, onnx_path)
            page = os.path.join(scratch, "web")
            os.makedirs(page)
            for name in PAGE_FILES:
                shutil.copyfile(os.path.join(ASSETS, name), os.path.join(page, name))
            with open(onnx_path, "rb") as f:
                onnx_model = base64.b64encode(f.read()).decode("ascii")
            meta = dict(step=step, recipe=config.recipe, arch=config.arch, dataset=config.dataset,
                        zDim=config.z_dim, classes=model.conditioning.classes, onnx=onnx_model)
            with open(os.path.join(page, MODEL_FILE), "w") as f:
                f.write(_js_value("GAN_MODEL", meta, "The generator of step %d (recipe %s), "
                                  "converted to ONNX (base64) by tf2onnx from export.py's "
                                  "SavedModel." % (step, config.recipe)))
            shutil.copyfile(os.path.join(runtime, RUNTIME_JS), os.path.join(page, RUNTIME_JS))
            with open(os.path.join(runtime, RUNTIME_GLUE)) as f:
                glue = f.read()
            with open(os.path.join(runtime, RUNTIME_WASM), "rb") as f:
                wasm = base64.b64encode(gzip.compress(f.read(), 9, mtime=0)).decode("ascii")
            version = runtime_version(runtime)
            with open(os.path.join(page, RUNTIME_FILE), "w") as f:
                f.write(_js_value("ORT_GLUE", glue, "%s %s: %s, as text (loaded from a blob: URL, "
                                  "which works from file:// too)" % (RUNTIME_PACKAGE, version,
                                                                     RUNTIME_GLUE)))
                f.write(_js_value("ORT_WASM_GZIP", wasm, "%s %s: %s, gzipped, base64"
                                  % (RUNTIME_PACKAGE, version, RUNTIME_WASM)))
            os.replace(page, out_dir)  # a half-written page never appears under its name
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    files = sorted(os.listdir(out_dir))
    return step, [os.path.join(out_dir, f) for f in files]


def size_of(folder):
    """The page's size in bytes: every file in the folder."""
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
