"""Every shell command of the code blocks of README.md and docs/*.md, run as written in a scratch
copy of the repository (the `clone` of test_journey: its root as the current directory, default
relative folders, no MNIST_DATA_DIR), shortening only counts: steps, minutes, digits drawn, the
benchmark's rounds, a sweep's seeds and the digits it evaluates. Commands not run are listed in
NOT_RUN with their reasons; an entry the docs no longer contain fails the test, so the list
cannot go stale. The Python programs of the docs (the export example) run as a user pastes them.

This lives apart from test_journey.py so that pytest-xdist (`-n 2 --dist loadfile`) runs the
two side by side.
"""
import csv
import glob
import json
import os
import re
import time

import numpy as np

from tests.conftest import REPO
from tests.test_journey import clone, published_step, run  # noqa: F401 (clone is a fixture)

# The README first, then the pages in the order a reader meets them (usage.md's `sample.py
# --npy digits.npy` writes the array results.md's `evaluate.py --samples digits.npy` reads);
# any other docs/*.md after them.
DOC_ORDER = ["README.md", "docs/usage.md", "docs/robustness.md", "docs/conditional.md",
             "docs/results.md", "docs/sweeps.md", "docs/architecture.md"]

# Commands of the docs not run here, each with its reason.
NOT_RUN = {
    "python3 -m venv .venv && . .venv/bin/activate": "CI makes the environment this way itself",
    "pip install -r requirements.txt          # or: pip install -e .": "as above",
    "MNIST_DATA_DIR=../shared/MNIST_data python -m pytest": "that is this test suite",
    "MNIST_DATA_DIR=../shared/MNIST_data python -m pytest -m quick": "its quick tier",
    "python -m pytest": "that is this test suite",
    "for a in fc mlp256 dcgan cnn; do": "the hour-long study behind the recipe table (four "
                                        "recipes, 15 minutes each); its pieces (--arch, "
                                        "--minutes with --steps, evaluate.py on other folders) "
                                        "run below",
    "python scripts/train.py --arch $a --minutes 15 --steps 10000000 --eval-every 0 "
    "--checkpoint-dir budget/$a --output-dir budget/$a-out": "part of that loop",
    "python scripts/evaluate.py --checkpoint-dir budget/$a --output-dir budget/$a-out":
        "part of that loop",
    "done": "part of that loop",
    "python scripts/benchmark.py                       # every variant on fc, 3 alternating "
    "rounds": "18 timed processes; tests/test_benchmark.py runs the benchmark script",
    "python scripts/benchmark.py --arch cnn --rounds 2 --steps 100   # a convolutional recipe "
    "(no keras variant)": "as above",
    "python scripts/benchmark.py --recipe best --profile   # where a step's time goes, by kind "
    "of op": "tests/test_benchmark.py::test_profile_prints_the_steps_time_by_kind_of_op runs "
             "it, shortened as here, and checks what it prints",
    "gan-mnist train --steps 100000": "the installed command: test_journey's "
                                      "test_pip_install_gives_one_quiet_command runs it after "
                                      "a real pip install",
    "gan-mnist sample --n 64 --png digits.png": "as above",
    "gan-mnist --version": "as above",
    "python scripts/export.py --pretrained best-conditional --web sevens_page":
        "tests/test_web.py's conditional_page runs it as written (into a folder of its own) and "
        "opens the page in Chromium",
    "python scripts/export.py --checkpoint-dir checkpoints --web web_page":
        "tests/test_web.py's untrained_page runs export.py --checkpoint-dir DIR --web on a "
        "checkpoint folder and opens the page in Chromium; web.md's --web digits_page runs here",
    "python scripts/train.py --dataset fashion-mnist --recipe best --checkpoint-dir "
    "checkpoints-fashion --output-dir output-fashion":
        "the README's --recipe best runs above on MNIST; tests/test_fashion.py trains on "
        "Fashion-MNIST from Debian's folder and checks that the dataset is kept with the "
        "checkpoint",
    "pip install -r requirements-web.txt": "CI installs the optional extras itself (.ci/run)",
    "pip install -r requirements-notebook.txt": "as above",
    "npm ci --prefix web": ".ci/run runs it in the checkout; the scratch copy links that "
                           "web/node_modules instead of downloading it again",
    "pip install jupyterlab": "as above: Jupyter itself, for a person to open the notebook",
    "jupyter lab notebooks/tour.ipynb": "opens Jupyter's web interface; tests/test_notebook.py "
                                        "executes the notebook top to bottom with nbclient",
    "python scripts/plot.py --compare fast=runs/fast-out fc=runs/fc-out --out "
    "fid_vs_minutes.png": "needs two runs with quick FIDs; tests/test_evaluate.py runs --compare",
    "python scripts/classifier.py --dataset mnist     # writes gan_mnist/assets/classifier-mnist.npz"
    " and its SHA-256": "three minutes of training, and it rewrites the shipped classifier; "
                        "tests/test_evaluate.py runs the script on a classifier trained in a "
                        "folder",
    "python scripts/sweep.py --out sweeps/a-full --set recipe=best --set lr-d=4e-4,8e-4 "
    "--set lr-g=4e-4,8e-4 --set clusters=40,80,160,240 --seeds 0 --minutes 2 --eval-n 5000 "
    "--rungs 1/9,1/6,1/3": "the 16-trial measurement behind sweeps.md's halving tables (22 "
                           "minutes); sweeps.md's two-setting --minutes --halving sweep runs here",
    "export RAY_AUTH_MODE=token": "run by tests/test_sweep_cluster.py",
    "ray get-auth-token --generate": "run by tests/test_sweep_cluster.py",
    "ray start --head --node-ip-address 127.0.0.1 --port 6379 --num-cpus 1":
        "run by tests/test_sweep_cluster.py",
    "ray start --address 127.0.0.1:6379 --node-ip-address 127.0.0.1 --num-cpus 1":
        "run by tests/test_sweep_cluster.py",
    "python scripts/sweep.py --out sweeps/cluster --set lr-d=1e-4,2e-4 --seeds 0 --steps 2000 "
    "--eval-n 1000 --address 127.0.0.1:6379": "run by tests/test_sweep_cluster.py",
}
SHORT_STEPS = {"train.py": 200, "benchmark.py": 20}
CLASSIC, CLASSIC_STEPS = "python -m gan_mnist.classic", 500
SIDE_RUN_STEPS = 100  # train commands into folders of their own (not checkpoints/) need fewer
SHORT_MINUTES = 0.05  # --minutes M becomes 3 seconds of training (the quick start: about a hundred
# steps of `best`, so that checkpoints/ ends below the 200 steps of the later commands)
SIDE_RUN_MINUTES = 0.05
SHORT_N = {"sample.py": 500, "evaluate.py": 500}  # digits to draw (default/docs: 10,000)
SHORT_ROUNDS = {"benchmark.py": 1}  # timed rounds per variant (default/docs: 3)
SWEEP_SEEDS, SWEEP_EVAL_N = "0", 100  # one seed per setting, 100 digits evaluated per trial
SHELL_FENCES = ("sh", "bash", "shell", "console")


def doc_paths(root):
    """README.md and every docs/*.md, in DOC_ORDER, then any others (sorted)."""
    found = ["README.md"] + sorted(os.path.relpath(p, root)
                                   for p in glob.glob(os.path.join(root, "docs", "*.md")))
    return [p for p in DOC_ORDER if p in found] + [p for p in found if p not in DOC_ORDER]


def code_blocks(text):
    """The indented code blocks, and fenced blocks marked as shell (```sh, ```bash, ...), each a
    list of lines. Other fenced blocks (```text, a bare ``` around --help output) are not
    commands."""
    blocks, previous_blank, in_block, fence = [], True, False, None
    for line in text.splitlines():
        if fence is not None:
            if line.strip().startswith("```"):
                fence = None
            elif blocks and blocks[-1] is not None:
                blocks[-1].append(line)
            continue
        if line.strip().startswith("```"):
            fence = line.strip()[3:].strip().lower()
            blocks.append([] if fence in SHELL_FENCES else None)
            in_block = False
            continue
        if line.startswith("    ") and (in_block or previous_blank):
            if not in_block:
                blocks.append([])
            in_block = True
            blocks[-1].append(line[4:])
        elif line.strip():
            in_block = False
        previous_blank = not line.strip()
    return [b for b in blocks if b]


def is_python(block):
    return block[0].startswith(("import ", "from "))


def shell_commands(text):
    """Each shell command of the code blocks, continuation lines joined."""
    commands, pending = [], ""
    for block in code_blocks(text):
        if is_python(block):
            continue
        for line in block:
            text = pending + line.strip()
            if text.endswith("\\"):
                pending = text[:-1].rstrip() + " "
                continue
            pending = ""
            if text:
                commands.append(text)
    return commands


def _cap(command, flag, cap, kind=int):
    """Lower the number after `flag` to at most `cap`."""
    return re.sub(r"%s (\d+(?:\.\d+)?)" % re.escape(flag),
                  lambda m: "%s %s" % (flag, min(kind(m.group(1)), cap)), command)


def shortened(command):
    """The command with its counts shortened: --steps (added where a step-limited command would
    run 100,000 steps by default), --minutes, digits drawn, benchmark rounds, a sweep's seeds.
    A comment at the end stays at the end, so that flags added go before it."""
    body, mark, comment = command.partition("  #")
    return _shortened(body.rstrip()) + (mark + comment if mark else "")


def _shortened(command):
    if command.startswith(CLASSIC):  # the seeds' GAN in one file: one grid's worth of steps
        return _cap(command, "--steps", CLASSIC_STEPS)
    script = re.search(r"scripts/(\w+\.py)", command).group(1)
    if script == "sweep.py":
        command = re.sub(r"--seeds [\d,]+", "--seeds " + SWEEP_SEEDS, command)
        command = _cap(command, "--minutes", SIDE_RUN_MINUTES, float)
        command = _cap(command, "--steps", SIDE_RUN_STEPS)
        if "--eval-n" in command:
            return _cap(command, "--eval-n", SWEEP_EVAL_N)
        return command + " --eval-n %d" % SWEEP_EVAL_N
    rounds = SHORT_ROUNDS.get(script)
    if rounds and "--rounds " in command:
        command = _cap(command, "--rounds", rounds)
    elif rounds:
        command += " --rounds %d" % rounds
    n = SHORT_N.get(script)
    if n and "--samples" not in command:
        if "--n " in command:
            command = _cap(command, "--n", n)
        elif script == "evaluate.py":
            command += " --n %d" % n
    side_run = script == "train.py" and "--checkpoint-dir" in command
    if "--minutes" in command:
        command = _cap(command, "--minutes", SIDE_RUN_MINUTES if side_run else SHORT_MINUTES,
                       float)
    short = SIDE_RUN_STEPS if side_run else SHORT_STEPS.get(script)
    if short is None:
        return command
    if "--steps" in command:
        return _cap(command, "--steps", short)
    if "--minutes" in command:
        return command  # a time budget alone: no step limit, as written
    return command + " --steps %d" % short


def test_shortened_changes_only_counts():
    assert shortened("python scripts/train.py --recipe best --minutes 15") == \
        "python scripts/train.py --recipe best --minutes 0.05"
    assert shortened("python scripts/train.py --arch fast --minutes 15 --steps 10000000 "
                     "--checkpoint-dir b --output-dir o") == \
        "python scripts/train.py --arch fast --minutes 0.05 --steps 100 --checkpoint-dir b " \
        "--output-dir o"
    assert shortened("python scripts/train.py --steps 100000") == \
        "python scripts/train.py --steps 200"
    assert shortened("python scripts/train.py") == "python scripts/train.py --steps 200"
    assert shortened("python scripts/evaluate.py") == "python scripts/evaluate.py --n 500"
    assert shortened("python -m gan_mnist.classic --steps 2000") == \
        "python -m gan_mnist.classic --steps 500"
    assert shortened("python scripts/benchmark.py --recipe best --profile   # where it goes") \
        == "python scripts/benchmark.py --recipe best --profile --rounds 1 --steps 20  # where " \
        "it goes"  # not after the comment, where the shell would not see them
    assert shortened("python scripts/sample.py --n 64 --png d.png") == \
        "python scripts/sample.py --n 64 --png d.png"
    assert shortened("python scripts/sweep.py --out s --set arch=fast --seeds 0,1,2 "
                     "--minutes 5") == \
        "python scripts/sweep.py --out s --set arch=fast --seeds 0 --minutes 0.05 --eval-n 100"
    assert shell_commands("text\n\n    a \\\n        b\n    c\n\n```text\nx\n```\n\n"
                          "```bash\nd\n```\n\n```\nusage: e\n```\n") == ["a b", "c", "d"]


def test_every_command_of_the_docs_works_as_written(clone):
    docs = doc_paths(clone)
    assert "README.md" in docs and "docs/results.md" in docs, docs
    commands = {doc: shell_commands((clone / doc).read_text()) for doc in docs}
    everywhere = [c for doc in docs for c in commands[doc]]
    stale = [c for c in NOT_RUN if c not in everywhere]
    assert not stale, "NOT_RUN names commands the docs no longer have: %s" % stale
    node_modules = os.path.join(REPO, "web", "node_modules")
    if os.path.isdir(node_modules):  # what `npm ci --prefix web` installed in the checkout
        os.symlink(node_modules, clone / "web" / "node_modules")
    fashion = os.path.isdir("/usr/share/datasets/fashion-mnist") or \
        os.environ.get("FASHION_MNIST_DATA_DIR")
    web_ready = not web_tools_missing()  # export.py --web: tf2onnx and onnxruntime-web
    ran, done = [], set()
    for doc in docs:
        for command in commands[doc]:
            if command in NOT_RUN or command in done:
                continue
            assert "scripts/" in command or command.startswith(CLASSIC), (doc, command)
            done.add(command)
            if "fashion-mnist" in command and not fashion:
                continue
            if "--web" in command and not web_ready:
                continue
            started = time.time()
            code, out, err = run(shortened(command), clone, timeout=600)
            print("%6.1f s  %s: %s" % (time.time() - started, doc, shortened(command)))
            assert code == 0 and "Traceback" not in err, \
                (doc, command, out[-2000:], err[-2000:])
            assert "training the mnist classifier" not in err  # the shipped one is used
            ran.append(command)
            if doc == "README.md" and "scripts/train.py" in command:
                assert "time budget of %g minutes used up at step" % SHORT_MINUTES in out, out
        if doc == "README.md":
            check_quick_start(clone)
    assert len(ran) >= 13, ran
    # The docs' Python programs (the export example), run as a user pastes them.
    programs = [b for doc in docs for b in code_blocks((clone / doc).read_text())
                if is_python(b)]
    assert programs
    for program in programs:
        (clone / "program.py").write_text("\n".join(program) + "\n")
        code, out, err = run("python program.py", clone)
        assert code == 0, (program, err[-2000:])
        if "generator_model" in "\n".join(program):
            assert "(16, 28, 28) uint8" in out
        if "from gan_mnist import api" in program:  # usage.md: the notebook's API
            assert "2000 runs/api-out/samples_step_002000.png" in out, out
            assert "FID " in out and "(16, 28, 28) uint8" in out, out
    # What the rest of the commands promise to leave behind.
    assert published_step(clone) == SHORT_STEPS["train.py"]
    digits = np.load(clone / "digits.npy")
    assert digits.shape == (500, 28, 28) and digits.dtype == np.uint8
    for name in ("curves.png", "progress.gif", "interpolation.png", "real_vs_fake.png",
                 "nearest_neighbours.png", "closest_pairs.png", "memorisation.png"):
        assert (clone / "output" / name).exists(), name
    assert (clone / "generator_model" / "generator.tflite").exists()
    assert (clone / "output-classic" / "samples_step_000500.png").exists()  # the README's classic
    if web_ready:  # web.md
        assert (clone / "digits_page" / "index.html").exists()
        assert (clone / "digits_page" / "model.js").exists()
    labels = np.load(clone / "three.labels.npy")
    assert sorted(set(labels.tolist())) == [0, 3, 7] and len(labels) == 300
    assert json.loads((clone / "checkpoints-cond" / "config.json").read_text())["conditional"]
    with open(clone / "sweeps" / "sn" / "results.csv") as f:
        rows = f.read().splitlines()
    assert len(rows) == 3, rows  # a header, and spectral-norm off and on for seed 0
    # sweeps.md's --minutes --halving: of two trials, one halted at the first rung of the time
    # budget, the other trained on to the full budget and its evaluation.
    with open(clone / "sweeps" / "lr" / "results.csv") as f:
        states = sorted((r["status"], r["halted_at"]) for r in csv.DictReader(f))
    assert [s for s, _ in states] == ["finished", "halted"], states
    assert states[1][1].endswith("min"), states  # a rung of the time budget, e.g. 0.2222min


def web_tools_missing():
    """What export.py --web lacks here (its commands are skipped outside CI; CI must have it)."""
    from gan_mnist.errors import GanError
    from gan_mnist.export import web

    try:
        web.check_tools()
    except GanError as e:
        assert not os.environ.get("CI"), "CI must install the web tools: %s" % e
        return str(e)
    return None


def check_quick_start(root):
    """The README's three commands: `--recipe best` trained the seven flags it stands for into
    checkpoints/, sample.py drew digits.png from there, evaluate.py wrote output/evaluation.json."""
    config = json.loads((root / "checkpoints" / "config.json").read_text())
    assert (config["arch"], config["clusters"], config["spectral_norm"], config["beta1"],
            config["lr_d"], config["lr_g"], config["ema"]) == (
                "fast", 160, True, 0.0, 8e-4, 8e-4, 0.999), config
    assert 0 < published_step(root) < SHORT_STEPS["train.py"]
    assert (root / "checkpoints" / "clusters.npy").exists()
    assert (root / "digits.png").exists()
    report = json.loads((root / "output" / "evaluation.json").read_text())
    assert report["n"] == 500 and report["step"] == published_step(root)
    assert report["generated"]["fid"] > report["real"]["fid"] > 0  # a few hundred steps of training
