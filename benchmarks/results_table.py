"""The README's numbers, made from the results files that the measuring commands wrote:
``python benchmarks/results_table.py`` rewrites the blocks between ``<!-- results: NAME -->`` and
``<!-- end results -->`` in README.md; tests/test_results.py fails when a block and its files
differ.

Sources (docs/results/):
- ``quick_start_best.json``, ``quick_start_best-conditional.json``: written by
  ``benchmarks/quick_start.py``, the quick start run exactly as the docs type it;
- ``budget/RECIPE_15min.json``: the evaluation.json that ``evaluate.py`` wrote for each seed
  recipe after 15 minutes of ``train.py`` (seed 0; the command and date are in
  ``budget/README.md``).
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "docs", "results")
README = os.path.join(ROOT, "README.md")
BLOCK = re.compile(r"(<!-- results: (\S+) -->\n)(.*?)(<!-- end results -->)", re.S)
SEED_RECIPES = {  # recipe -> what it is
    "fast": "small convolutional pair, batch 64, tuned for quality per CPU-minute (this run "
            "kept `--ema 0.999` and is scored on the averaged weights)",
    "fc": "the classic fully connected GAN, 100 → 128 → 784 (the default)",
    "dcgan": "TensorFlow's DCGAN tutorial",
    "mlp256": "two hidden layers of 256, batch 32",
    "cnn": "the convolutional MNIST GAN tutorial, 300 D-only steps first",
}
SHIPPED = {
    "best": "`fast` conditioned on 160 k-means groups of the digits (no labels), spectral "
            "normalisation, Adam β₁ 0 at 8e-4, the weights' average",
    "best-conditional": "the same, conditioned on the class too: draws the digit you ask for",
}


def load(name):
    with open(os.path.join(RESULTS, name)) as f:
        return json.load(f)


def _row(recipe, what, scores, steps, source):
    return "| `%s` | %s | %s | %.2f | %.2f | %d / 10 | %.3f / %.3f | [%s](docs/results/%s) |" % (
        recipe, what, "{:,}".format(steps), scores["fid"], scores["inception_score"],
        scores["modes_covered"], scores["precision"], scores["recall"],
        os.path.basename(source), source)


def recipes_table():
    lines = ["| `--recipe` | what it is | steps in 15 min | FID | Inception Score | digits ≥ 5% "
             "| precision / recall | file |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    real = None
    for recipe, what in SHIPPED.items():
        name = "quick_start_%s.json" % recipe
        record = load(name)
        generated, measure = record["evaluation"]["generated"], record["evaluation"]["real"]
        if "label_accuracy" in generated:  # scored class-balanced: its own real-digit FID
            what += " (label accuracy %.2f%%; real digits on this measure: FID %.2f)" % (
                100 * generated["label_accuracy"], measure["fid"])
        lines.append(_row(recipe, what, generated, record["steps"], name))
    for recipe, what in SEED_RECIPES.items():
        name = "budget/%s_15min.json" % recipe
        report = load(name)
        real = real or report["real"]
        lines.append(_row(recipe, what, report["generated"], report["step"], name))
    lines.append("| real digits | the MNIST test set, measured the same way | | %.2f | %.2f | "
                 "%d / 10 | %.3f / %.3f | |" % (real["fid"], real["inception_score"],
                                               real["modes_covered"], real["precision"],
                                               real["recall"]))
    return "\n".join(lines) + "\n"


def machine(record):
    """'2 CPU cores (Intel(R) Xeon(R) Processor), convolutions in float32': where a quick start
    ran, and what its convolutions computed in, as the record says (older records: the CPU)."""
    cores = re.search(r"(\d+) CPUs", record["machine"])
    text = "%s CPU cores (%s)" % (cores.group(1) if cores else "?", record["lscpu_model_name"])
    if record.get("convolutions"):
        text += ", convolutions in %s" % record["convolutions"]
    return text


def quick_start():
    best, conditional = load("quick_start_best.json"), load("quick_start_best-conditional.json")
    gen, real = best["evaluation"]["generated"], best["evaluation"]["real"]
    cond = conditional["evaluation"]["generated"]
    return ("Measured as typed on %s (seed 0, one run each; "
            "[quick_start_best.json](docs/results/quick_start_best.json)): training reached step "
            "{:,} ({:.1f} steps/s), `sample.py` took %.1f s and `evaluate.py` %.0f s, which "
            "printed FID %.2f (real digits %.2f), Inception Score %.2f (real %.2f). The "
            "conditional recipe: FID %.2f (real digits %.2f, class-balanced), label accuracy "
            "%.2f%% ([quick_start_best-conditional.json]"
            "(docs/results/quick_start_best-conditional.json)).\n"
            ).format(best["steps"], best["steps_per_second"]) % (
        machine(best), best["commands"]["sample"]["seconds"],
        best["commands"]["evaluate"]["seconds"], gen["fid"], real["fid"],
        gen["inception_score"], real["inception_score"], cond["fid"],
        conditional["evaluation"]["real"]["fid"], 100 * cond["label_accuracy"])


BLOCKS = {"recipes": recipes_table, "quick-start": quick_start}


def rendered(text):
    """``text`` (the README) with every results block made again from the files."""
    return BLOCK.sub(lambda m: m.group(1) + BLOCKS[m.group(2)]() + m.group(4), text)


def main():
    with open(README) as f:
        text = f.read()
    with open(README, "w") as f:
        f.write(rendered(text))
    print("rewrote the results blocks of %s" % README)
    return 0


if __name__ == "__main__":
    sys.exit(main())
