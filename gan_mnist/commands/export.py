"""``export.py`` / ``gan-mnist export``: the generator as a SavedModel (and TFLite), or as a web
page that runs it in the browser (gan_mnist.export.web)."""
from gan_mnist.commands.common import (Parser, add_checkpoint_dir, check_model_source,
                                       model_folder, run)


def parser(prog="export.py"):
    p = Parser(prog=prog, description="Export the newest checkpoint's generator as a "
               "TensorFlow SavedModel (signatures 'generate': z -> uint8 digits, and 'sample': "
               "seed, n -> digits) that loads without this package, and/or as a static web page "
               "that draws digits in the browser.")
    add_checkpoint_dir(p, "export the newest checkpoint here", pretrained=True)
    p.add_argument("--out", help="the SavedModel folder to create (must not exist yet); "
                   "needed unless --web is given")
    p.add_argument("--tflite", action="store_true",
                   help="also write generator.tflite (the 'generate' signature) into it")
    p.add_argument("--web", metavar="DIR", help="write a static web page into DIR (must not "
                   "exist yet) that runs the generator in the browser, opened from disk or any "
                   "file server: index.html, the generator as ONNX and ONNX Runtime Web (needs "
                   "pip install -r requirements-web.txt and npm ci --prefix web)")
    return p


def main(argv=None, prog="export.py"):
    p = parser(prog)
    args = p.parse_args(argv)
    check_model_source(p, args)
    if not args.out and not args.web:
        p.error("give --out DIR (a SavedModel), --web DIR (a web page), or both")
    if args.tflite and not args.out:
        p.error("--tflite goes into the SavedModel folder: give --out DIR too")
    return run(lambda: _export(args))


def _export(args):
    from gan_mnist import api

    if args.web:
        api.check_web_tools()  # before any work: one line on what to install
    folder = model_folder(args)
    if args.out:
        step, files = api.export(folder, args.out, args.tflite)
        print("exported the generator of step %d: %s" % (step, ", ".join(files)))
    if args.web:
        step, files = api.web_page(folder, args.web)
        from gan_mnist.export.web import size_of

        size = size_of(args.web)
        print("wrote a web page for the generator of step %d: %s (%.1f MB); open %s in a "
              "browser" % (step, args.web, size / 1e6,
                           "/".join([args.web.rstrip("/"), "index.html"])))
    return 0
