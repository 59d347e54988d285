"""``evaluate.py`` / ``gan-mnist evaluate``: how good are the digits (gan_mnist.evaluation.report)."""
from gan_mnist.training.checks import non_negative_int, number
from gan_mnist.commands.common import (DATASETS, Parser, add_checkpoint_dir, add_data_dir,
                                       check_model_source, model_folder, run)
from gan_mnist.evaluation.metrics import EVAL_N


def parser(prog="evaluate.py"):
    p = Parser(prog=prog, description="Measure generated digits: Inception Score, FID, "
               "mode coverage, precision/recall and memorisation, beside real digits.")
    add_checkpoint_dir(p, "evaluate the newest checkpoint here", pretrained=True,
                       needs_mnist=True)
    p.add_argument("--samples", help="evaluate the digits in this .npy file instead (uint8, "
                   "(N, 28, 28), as written by sample.py --npy)")
    p.add_argument("--n", type=number(int, 10, maximum=60001), default=EVAL_N,
                   help="how many digits to generate, 10 to 60000 (default %d)" % EVAL_N)
    p.add_argument("--output-dir", default="output",
                   help="where evaluation.json and the figures go (default output/)")
    p.add_argument("--classifier-dir", help="train (once) or use the classifier in this folder "
                   "instead of the one shipped with the package")
    p.add_argument("--dataset", choices=DATASETS,
                   help="what the digits imitate (default: the checkpoint's, or mnist)")
    add_data_dir(p)
    p.add_argument("--seed", type=non_negative_int, default=0, help="noise seed (default 0)")
    return p


def main(argv=None, prog="evaluate.py"):
    p = parser(prog)
    args = p.parse_args(argv)
    check_model_source(p, args)
    return run(lambda: _evaluate(args))


def _evaluate(args):
    from gan_mnist import api

    result = api.evaluate(model_folder(args), args.output_dir, args.n, args.seed, args.data_dir,
                          args.classifier_dir, samples=args.samples, dataset=args.dataset)
    print(api.format_report(result))
    print("wrote " + ", ".join(result["paths"]))
    return 0
