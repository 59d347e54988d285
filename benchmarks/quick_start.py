"""The README's quick start, measured exactly as typed: ``python benchmarks/quick_start.py
RECIPE`` runs, in the current folder (a fresh clone), the train, sample and evaluate commands the
README (or docs/conditional.md) shows for that recipe, with their default folders and flags, and
writes docs/results/quick_start_RECIPE.json: each command, its wall time, the step training
reached, what its convolutions computed in, the evaluation's numbers, the date, the machine and
its ``lscpu`` model name.

The README's quick-start numbers are read from these files (tests/test_results.py holds the two
to each other). Run it alone on the machine: it takes the 15 minutes of training and about a
minute more.
"""
import json
import os
import platform
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_mnist.benchmarks.speed import cpu_model  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                       "results")
# The commands as the docs type them (README.md's quick start; docs/conditional.md).
COMMANDS = {
    "best": {"train": "python scripts/train.py --recipe best --minutes 15",
             "sample": "python scripts/sample.py --n 64 --png digits.png",
             "evaluate": "python scripts/evaluate.py",
             "evaluation": "output/evaluation.json"},
    "best-conditional": {
        "train": "python scripts/train.py --recipe best-conditional --minutes 15 "
                 "--checkpoint-dir checkpoints-cond --output-dir output-cond",
        "sample": "python scripts/sample.py --checkpoint-dir checkpoints-cond --label 7 --n 16 "
                  "--png sevens.png",
        "evaluate": "python scripts/evaluate.py --checkpoint-dir checkpoints-cond --output-dir "
                    "output-cond",
        "evaluation": "output-cond/evaluation.json"},
}


def run(command):
    """Run a docs command as typed (``python`` is this interpreter); (seconds, stdout)."""
    argv = command.split()
    argv[0] = sys.executable
    started = time.time()
    result = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit("%s failed with exit status %d" % (command, result.returncode))
    print(result.stdout, end="")
    return round(time.time() - started, 1), result.stdout


def main(argv):
    recipe = argv[0] if argv else "best"
    if recipe not in COMMANDS or len(argv) > 1:
        sys.exit("usage: python benchmarks/quick_start.py [%s]" % "|".join(COMMANDS))
    commands = COMMANDS[recipe]
    if not os.path.isfile(os.path.join("scripts", "train.py")):
        sys.exit("run this from the root of a fresh clone: the docs' commands name scripts/")
    folders = [w for w in commands["train"].split() + ["checkpoints", "output"]
               if w.startswith(("checkpoints", "output")) and os.path.exists(w)
               and set(os.listdir(w)) - {"README.md"}]  # the clone's checkpoints/README.md
    if folders:  # a resumed run would record the steps and scores of two sessions
        sys.exit("%s already exist%s here: the quick start is measured from a fresh clone"
                 % (", ".join(sorted(set(folders))), "s" if len(set(folders)) == 1 else ""))
    record = {"recipe": recipe, "seed": 0, "date": time.strftime("%Y-%m-%d"),
              "machine": "%s, %d CPUs (%s)" % (platform.node(), os.cpu_count(), cpu_model()),
              "lscpu_model_name": cpu_model(), "commands": {}}
    for name in ("train", "sample", "evaluate"):
        seconds, out = run(commands[name])
        record["commands"][name] = {"command": commands[name], "seconds": seconds}
        if name == "train":
            reached = re.search(r"used up at step (\d+) \(([\d.]+) steps/s\)", out)
            if not reached:
                sys.exit("%s did not say that its time budget was used up" % commands[name])
            record["steps"], record["steps_per_second"] = int(reached[1]), float(reached[2])
            # train.py says so at the start when its convolutions compute in bfloat16
            record["convolutions"] = ("bfloat16" if "convolutions compute in bfloat16" in out
                                      else "float32")
    with open(commands["evaluation"]) as f:
        report = json.load(f)
    record["evaluation"] = {side: {k: report[side][k] for k in (
        "fid", "inception_score", "precision", "recall", "modes_covered", "label_accuracy",
        "mean_intra_fid") if k in report[side]} for side in ("generated", "real")}
    record["evaluation"]["n"] = report["n"]
    path = os.path.join(RESULTS, "quick_start_%s.json" % recipe)
    with open(path, "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
