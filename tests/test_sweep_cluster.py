"""docs/sweeps.md's cluster commands, run as the doc writes them, on a real two-node Ray cluster
on this machine (127.0.0.1 only): `ray start --head`, `ray start --address`, then `sweep.py
--address`. One trial runs on each node; the test kills the second node (its raylet and every
process it started, as a lost machine) mid-trial, and the sweep retries that trial from its own
checkpoint on the head and finishes with exit status 0, printing only its own lines.

The commands come from the doc's first shell block under "## On a cluster"; the test changes only
the port, the --out folder, `python` and `ray` (this environment's), and it gives every process a
private HOME (the token `ray get-auth-token --generate` writes), a private RAY_TMPDIR and a marker
variable, so that it tears down exactly the processes it started, by process id (`ray stop` would
stop every Ray of the user).
"""
import csv
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from gan_mnist.sweeps import records as trials
from tests.conftest import REPO
from tests.test_docs_commands import code_blocks
from tests.test_sweep import OUR_LINES  # the sweep's own lines; anything else came from Ray
from tests.test_sweep import ray_noise

DOC = os.path.join(REPO, "docs", "sweeps.md")
SECTION = "## On a cluster"
DOC_PORT, DOC_OUT = "6379", "sweeps/cluster"


def cluster_commands():
    """The lines of the first code block after the cluster heading, continuations joined."""
    text = open(DOC).read()
    assert SECTION in text, "docs/sweeps.md has no %r section" % SECTION
    commands, pending = [], ""
    for line in code_blocks(text[text.index(SECTION):])[0]:
        line = pending + line.strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
        elif line:
            commands.append(line)
            pending = ""
    return commands


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def marked(marker):
    """Process ids whose environment holds ``marker`` (a marker and the cluster's RAY_TMPDIR), or
    that hold a file open in that RAY_TMPDIR: Ray's agents do not inherit the environment."""
    tag, ray_tmp = marker
    pids = set()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                if tag.encode() in f.read():
                    pids.add(int(name))
                    continue
            for fd in os.listdir("/proc/%s/fd" % name):
                if os.readlink("/proc/%s/fd/%s" % (name, fd)).startswith(ray_tmp + os.sep):
                    pids.add(int(name))
                    break
        except OSError:
            pass
    return pids


def command_line(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def parent(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def raylet_of(pid):
    """The raylet a Ray worker belongs to: RAY_RAYLET_PID in its environment, else its parent."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"RAY_RAYLET_PID="):
                    return int(item.split(b"=", 1)[1])
    except (OSError, ValueError):
        pass
    return parent(pid)


def raylets(pids):
    return {pid for pid in pids if command_line(pid).split(" ")[0].endswith("/raylet")}


def descendants(root, pids):
    family, grew = {root}, True
    while grew:
        grew = False
        for pid in pids:
            if pid not in family and parent(pid) in family:
                family.add(pid)
                grew = True
    return family


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture
def cluster_env(tmp_path):
    """The environment of every process the test starts, and the teardown of all of them."""
    pytest.importorskip("ray")
    marker = "gan-mnist-cluster-test-%s" % uuid.uuid4().hex[:12]
    ray_tmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths have a limit
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), RAY_TMPDIR=ray_tmp, GAN_MNIST_CLUSTER_TEST=marker,
               PYTHONUNBUFFERED="1", RAY_USAGE_STATS_ENABLED="0")
    for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS"):
        env.pop(key, None)  # the doc's own lines set what they need
    mark = (marker, ray_tmp)
    try:
        yield env, mark
    finally:
        for _ in range(3):
            left = marked(mark)
            if not left:
                break
            kill_all(left)
            time.sleep(0.5)
        assert not marked(mark), "processes left running"
        shutil.rmtree(ray_tmp, ignore_errors=True)


def run_line(line, env, timeout=120):
    args = shlex.split(line)
    exe = {"python": sys.executable, "ray": os.path.join(os.path.dirname(sys.executable), "ray")}
    args[0] = exe.get(args[0], args[0])
    return subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_the_docs_cluster_sweep_survives_a_lost_node(cluster_env, tmp_path):
    env, marker = cluster_env
    port, out = str(free_port()), str(tmp_path / "sweep")
    lines = [line.replace(DOC_PORT, port).replace(DOC_OUT, out) for line in cluster_commands()]
    kinds = [shlex.split(line)[:2] for line in lines]
    assert ["ray", "start"] in kinds and ["python", "scripts/sweep.py"] in kinds, lines
    head = None
    for line in lines[:-1]:
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value
            continue
        before = marked(marker)
        result = run_line(line, env)
        assert result.returncode == 0, (line, result.stdout[-3000:], result.stderr[-3000:])
        assert "InvalidAuthToken" not in result.stdout + result.stderr
        if "--head" in line:
            head = raylets(marked(marker) - before)
        elif line.startswith("ray start"):
            second = raylets(marked(marker) - before)
            node_processes = marked(marker) - before  # the second node's, and maybe the head's
    assert len(head) == 1 and len(second) == 1, (head, second)
    head, second = head.pop(), second.pop()

    sweep_line = lines[-1]
    assert "scripts/sweep.py" in sweep_line and "--address" in sweep_line
    args = shlex.split(sweep_line)
    args[0] = sys.executable
    sweep = subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        victim, seen, deadline = None, None, time.time() + 120
        while time.time() < deadline and victim is None:
            for name in os.listdir(out) if os.path.isdir(out) else []:
                record = trials.read_trial(os.path.join(out, name)) or {}
                index = os.path.join(out, name, "checkpoints", "checkpoint")
                lock = os.path.join(out, name, "checkpoints", "lock")
                if record.get("status") != "running" or not os.path.exists(index):
                    continue
                try:
                    worker = int(open(lock).read().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
                if raylet_of(worker) == second:
                    victim, seen = name, newest_checkpoint(os.path.join(out, name))
                    killed_node = record["node_id"]
                    break
            time.sleep(0.2)
        assert victim, "no trial ran on the second node with a checkpoint"
        # The machine is lost: its raylet and everything it and `ray start` started there.
        everyone = marked(marker)
        kill_all(descendants(second, everyone)
                 | {pid for pid in everyone if raylet_of(pid) == second}
                 | (node_processes - descendants(head, everyone) - {sweep.pid}))
        stdout, stderr = sweep.communicate(timeout=240)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()
    assert sweep.returncode == 0, (stdout, stderr)
    noise = [line for line in (stdout + stderr).splitlines()
             if not any(re.match(p, line) for p in OUR_LINES)]
    assert not noise, noise  # Ray's own output went to ray.log
    assert os.path.exists(os.path.join(out, "ray.log"))

    records = {name: trials.read_trial(os.path.join(out, name)) for name in os.listdir(out)
               if os.path.exists(os.path.join(out, name, trials.TRIAL_FILE))}
    assert len(records) == 2 and all(r["status"] == "finished" for r in records.values())
    other = [name for name in records if name != victim][0]
    assert records[other]["node_id"] != killed_node  # the trials ran on both nodes
    assert records[victim]["node_id"] == records[other]["node_id"]  # retried on the head
    nodes = records[victim]["nodes"]
    assert len(nodes) == 2 and nodes[0] != nodes[1] == records[other]["node"], nodes
    assert records[victim]["lost"] == 1
    lost = (r"^retrying %s \(1 of 2 retries\): its node was lost \(Task failed because the "
            r"node it was running on is dead or unavailable\)$")
    assert re.search(lost % re.escape(victim), stdout, re.M), stdout
    for name in records:
        assert re.search(r"^started %s on node \S+ \([0-9a-f]{8}\)$" % re.escape(name), stdout,
                         re.M), stdout
    with open(os.path.join(out, victim, "train.log")) as f:
        log = f.read()
    retry = log.split("=== ")[2]  # what the second start printed: it resumed where it was lost
    resumed = [int(part.split()[0]) for part in retry.split("resumed from step ")[1:]]
    # From the checkpoint it had when its node was lost (its first may be a rung's, step 223).
    assert resumed and resumed[0] >= seen >= 1, (resumed, seen)
    with open(os.path.join(out, "results.csv")) as f:
        rows = {r["trial"]: r for r in csv.DictReader(f)}
    assert rows[victim]["node"] == records[other]["node"] and rows[victim]["lost"] == "1"
    steps = args[args.index("--steps") + 1]
    assert all(float(r["fid"]) > 0 and r["step"] == steps for r in rows.values()), rows


def test_a_local_sweep_starts_its_own_ray_whatever_a_dead_heads_session_file_says(cluster_env,
                                                                                   tmp_path):
    """A head that died without `ray stop` (as the lost-node story above leaves it) still has
    its address in Ray's session file, RAY_TMPDIR/ray/ray_current_cluster, where ray.init()
    without an address looks first. A sweep without --address starts a Ray of its own anyway,
    runs its trial to the end, and leaves the file alone."""
    env, _ = cluster_env
    session_file = os.path.join(env["RAY_TMPDIR"], "ray", "ray_current_cluster")
    os.makedirs(os.path.dirname(session_file))
    dead = "127.0.0.1:%d" % free_port()  # nothing listens there: the head is gone
    with open(session_file, "w") as f:
        f.write(dead)
    out = str(tmp_path / "sweep")
    result = run_line("python scripts/sweep.py --out %s --set arch=fc --steps 10 --eval-n 100 "
                      "--rungs none" % out, env, timeout=300)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith("1 trials in %s: 0 finished already, 1 to run\n" % out)
    assert not ray_noise(result.stdout, result.stderr)
    (name,) = [n for n in os.listdir(out) if os.path.isdir(os.path.join(out, n))]
    assert trials.read_trial(os.path.join(out, name))["status"] == "finished"
    with open(os.path.join(out, "results.csv")) as f:
        (row,) = csv.DictReader(f)
    assert row["status"] == "finished" and row["step"] == "10" and float(row["fid"]) > 0
    assert open(session_file).read() == dead


def newest_checkpoint(trial):
    text = open(os.path.join(trial, "checkpoints", "checkpoint")).read()
    return int(re.search(r'^model_checkpoint_path: "model\.ckpt-(\d+)"', text, re.M).group(1))
