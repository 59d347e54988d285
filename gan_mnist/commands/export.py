"""``export.py`` / ``gan-mnist export``: the generator as a SavedModel (and TFLite)."""
from gan_mnist.commands.common import Parser, add_checkpoint_dir, run


def parser():
    p = Parser(prog="export.py", description="Export the newest checkpoint's generator as a "
               "TensorFlow SavedModel (signatures 'generate': z -> uint8 digits, and 'sample': "
               "seed, n -> digits) that loads without this package.")
    add_checkpoint_dir(p, "export the newest checkpoint here")
    p.add_argument("--out", required=True, help="the SavedModel folder to create (must not "
                   "exist yet)")
    p.add_argument("--tflite", action="store_true",
                   help="also write generator.tflite (the 'generate' signature) into it")
    return p


def main(argv=None):
    return run(lambda: _export(parser().parse_args(argv)))


def _export(args):
    from gan_mnist import export  # imports TensorFlow

    step, files = export.export(args.checkpoint_dir, args.out, args.tflite)
    print("exported the generator of step %d: %s" % (step, ", ".join(files)))
    return 0
