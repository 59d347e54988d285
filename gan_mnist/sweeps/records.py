"""A sweep trial's record, trial.json in its folder: settings, seed, budget, state, seconds
trained. The folders are a sweep's state; the driver (gan_mnist.sweeps.grid) and the report
(gan_mnist.sweeps.report) both read them through here."""
import json
import os

from gan_mnist.files import atomic_write, process_alive

TRIAL_FILE = "trial.json"


def read_trial(folder):
    try:
        with open(os.path.join(folder, TRIAL_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_trial(folder, record):
    path = os.path.join(folder, TRIAL_FILE)
    with atomic_write(path) as f:
        json.dump(record, f, indent=2, sort_keys=True)


def is_finished(folder, budget):
    record = read_trial(folder)
    return bool(record and record.get("status") == "finished" and record.get("budget") == budget
                and os.path.exists(os.path.join(folder, "evaluation.json")))


def status_of(record):
    """trial.json's status, except "lost" for a trial that says "running" in a process of this
    machine that is gone (its sweep was killed before it could say so)."""
    status = (record or {}).get("status")
    if (status == "running" and record.get("pid") and record.get("host") == os.uname().nodename
            and not process_alive(record["pid"])):
        return "lost"
    return status
