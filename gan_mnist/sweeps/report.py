"""A sweep's results, made from its trial folders alone (no Ray): results.csv (one row per
trial), results.md (per setting: mean and spread over seeds, best FID first) and fid.png (FID per
setting, each seed a point). Written at the end of a sweep and by ``sweep.py --report`` at any
time, also mid-sweep: unfinished trials are listed with their state."""
import csv
import json
import os

import numpy as np

from gan_mnist.errors import GanError
from gan_mnist.files import atomic_write
from gan_mnist.sweeps import rank
from gan_mnist.sweeps.halving import KEEP, describe
from gan_mnist.sweeps.records import TRIAL_FILE, read_trial, status_of

METRICS = (("inception_score", "IS"), ("fid", "FID"), ("modes_covered", "digits >= 5%"),
           ("precision", "precision"), ("recall", "recall"))
CSV_NAME, MD_NAME, PLOT_NAME = "results.csv", "results.md", "fid.png"


def collect(out):
    """One dict per trial folder under ``out``: its settings, seed, state and scores."""
    if not os.path.isdir(out):
        raise GanError("no sweep folder %s" % out)
    rows = []
    for name in sorted(os.listdir(out)):
        folder = os.path.join(out, name)
        record = read_trial(folder) if os.path.exists(os.path.join(folder, TRIAL_FILE)) else None
        if not record:
            continue
        row = dict(trial=name, settings=record.get("settings", {}), seed=record.get("seed"),
                   budget=record.get("budget") or {},
                   status=status_of(record), error=record.get("error") or "",
                   train_minutes=round(record.get("trained_seconds", 0.0) / 60.0, 2), step="",
                   node=record.get("node") or record.get("host") or "",
                   halted_at=record.get("halted_at") or "", lost=record.get("lost", 0),
                   rung_fids=record.get("rungs") or {},
                   rungs=" ".join("%s:%.2f" % (step, fid) for step, fid in sorted(
                       (record.get("rungs") or {}).items(), key=lambda kv: rank.order(kv[0]))))
        if row["status"] == "lost":
            row["error"] = "its process is gone; run the sweep again to resume it"
        evaluation = _read_json(os.path.join(folder, "evaluation.json"))
        if evaluation and record.get("status") == "finished":
            row["step"], row["n"] = evaluation.get("step", ""), evaluation.get("n")
            row.update({key: evaluation["generated"].get(key) for key, _ in METRICS})
        rows.append(row)
    return rows


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def constants(rows):
    """The flags every trial shares, with their value (none when all trials share everything:
    then the label must still say what ran)."""
    shared = None
    for row in rows:
        items = set(row["settings"].items())
        shared = items if shared is None else shared & items
    if len({tuple(sorted(r["settings"].items())) for r in rows}) < 2:
        return {}
    return dict(sorted(shared or ()))


def setting_label(settings, same=()):
    """The flags that tell this setting from the others (those in ``same`` are left out)."""
    return " ".join("%s=%s" % kv for kv in settings.items() if kv[0] not in same) or "(defaults)"


def summarise(rows):
    """Per setting (the trial's flags without the seed): the mean and std of each metric over
    its finished trials, best mean FID first; settings with no finished trial last."""
    same = constants(rows)
    groups = {}
    for row in rows:
        groups.setdefault(setting_label(row["settings"], same), []).append(row)
    summary = []
    for label, members in groups.items():
        done = [r for r in members if r.get("fid") is not None]
        entry = dict(setting=label, seeds=[r["seed"] for r in done], trials=len(members),
                     finished=len(done))
        for key, _ in METRICS:
            values = np.array([r[key] for r in done], dtype=float)
            entry[key] = (values.mean(), values.std(ddof=1) if len(values) > 1 else 0.0) \
                if len(values) else None
        summary.append(entry)
    summary.sort(key=lambda e: (e["fid"] is None, e["fid"][0] if e["fid"] else 0))
    return summary


def rank_lines(rows, share=KEEP):
    """Per rung, how well it ranks the finished trials (gan_mnist.sweeps.rank), and a warning
    where the first rung ranks them badly."""
    ranking = rank.rung_ranking(rows, share)
    return [rank.verdict(entry) for entry in ranking] + rank.warnings(ranking)


def publish(out, budget=None, share=KEEP):
    """What a sweep and ``--report`` end with: the three files written, their paths printed,
    then the rungs' verdicts, all from one reading of the trial folders."""
    rows = collect(out)
    print("results: %s" % ", ".join(write(out, budget, share, rows)))
    for line in rank_lines(rows, share):
        print(line)


def write(out, budget=None, share=KEEP, rows=None):
    """Write the three files into ``out``; return their paths. Without ``budget`` (--report) the
    trials' own records say it, when they agree; ``share``: what --halving keeps at a rung;
    ``rows``: the trials, when the caller has read them already."""
    rows = collect(out) if rows is None else rows
    if budget is None:
        budgets = {tuple(sorted(r["budget"].items())) for r in rows}
        budget = dict(budgets.pop()) if len(budgets) == 1 else None
    keys = sorted({k for r in rows for k in r["settings"]})
    paths = [_write_csv(out, rows, keys), _write_markdown(out, rows, budget, share)]
    plot = _plot(out, rows)
    return paths + ([plot] if plot else [])


def _write_csv(out, rows, keys):
    path = os.path.join(out, CSV_NAME)
    fields = (["trial"] + keys + ["seed", "status", "step", "train_minutes"]
              + [key for key, _ in METRICS] + ["halted_at", "rungs", "node", "lost", "error"])
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(dict(row, **row["settings"]))
    return path


def _format(value, key):
    if value is None:
        return "-"
    mean, std = value
    if key == "modes_covered":
        return "%.1f ± %.1f" % (mean, std)
    if key in ("precision", "recall"):
        return "%.3f ± %.3f" % (mean, std)
    return "%.2f ± %.2f" % (mean, std)


def _write_markdown(out, rows, budget, share):
    summary = summarise(rows)
    lines = ["# Sweep results: %s" % os.path.basename(os.path.normpath(out)), ""]
    samples = sorted({r["n"] for r in rows if r.get("n")})
    if budget:
        lines += ["Budget per trial: %s." % ", ".join("%s %s" % kv for kv in budget.items())]
    same = constants(rows)
    if same:
        lines += ["Same in every trial: %s." % setting_label(same)]
    lines += ["Mean ± standard deviation over the finished seeds; evaluate.py on %s samples per "
              "trial." % (" / ".join("{:,}".format(n) for n in samples) or "-"), ""]
    lines += ["| setting | seeds | " + " | ".join(title for _, title in METRICS) + " |",
              "|---|---|" + "---|" * len(METRICS)]
    for e in summary:
        seeds = ",".join(str(s) for s in e["seeds"]) or "-"
        if e["finished"] < e["trials"]:
            seeds += " (%d of %d finished)" % (e["finished"], e["trials"])
        lines.append("| %s | %s | " % (e["setting"], seeds)
                     + " | ".join(_format(e[key], key) for key, _ in METRICS) + " |")
    ranking = rank.rung_ranking(rows, share)
    if ranking:
        lines += ["", "## Do the rungs rank the trials as the full budget does?", "",
                  "Spearman's rank correlation between each rung's quick FID (2,000 digits) and "
                  "the final FID, over the trials that reached the full budget; the winner is "
                  "the trial with the best final FID, ranked among all trials measured at the "
                  "rung; halving keeps %s of them there." % share, "",
                  "| rung | finished trials | Spearman | winner's rank | kept | winner kept |",
                  "|---|---|---|---|---|---|"]
        lines += ["| %s | %d | %s | %s | %d | %s |" % (
            describe(e["rung"]), e["trials"], "-" if e["rho"] is None else "%.2f" % e["rho"],
            "-" if e["winner_rank"] is None else "%d of %d" % (e["winner_rank"], e["measured"]),
            e["kept"], {True: "yes", False: "no", None: "-"}[e["keeps_winner"]])
            for e in ranking]
        lines += [""] + rank.warnings(ranking)
    unfinished = [r for r in rows if r["status"] != "finished"]
    if unfinished:
        lines += ["", "Not finished:", ""]
        lines += ["- %s: %s%s" % (r["trial"], _state(r), ": " + r["error"] if r["error"] else "")
                  for r in unfinished]
    path = os.path.join(out, MD_NAME)
    with atomic_write(path) as f:
        f.write("\n".join(lines) + "\n")
    return path


def _state(row):
    """'halted at step 100 (quick FID 80.12)' for a trial --halving stopped, else its status."""
    if row["status"] != "halted":
        return row["status"]
    fid = row["rung_fids"].get(str(row["halted_at"]))
    return "halted at %s%s" % (describe(str(row["halted_at"])),
                               " (quick FID %.2f)" % fid if fid is not None else "")


def _plot(out, rows):
    """FID per setting: each finished seed a dot, the mean a bar with the standard deviation."""
    shown = [e for e in summarise(rows) if e["fid"] is not None]
    if not shown:
        return None
    from gan_mnist.training.images import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(shown) + 1.5))
    same = constants(rows)
    points = {}
    for row in rows:
        if row.get("fid") is not None:
            points.setdefault(setting_label(row["settings"], same), []).append(row["fid"])
    for y, e in enumerate(shown):
        mean, std = e["fid"]
        ax.errorbar([mean], [y], xerr=[std], fmt="o", color="C0", capsize=4, markersize=8)
        seeds = points.get(e["setting"], [])
        ax.scatter(seeds, [y] * len(seeds), color="C1", s=18, zorder=3)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([e["setting"] for e in shown], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("FID (lower is better): mean ± std over seeds, each seed a dot")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = os.path.join(out, PLOT_NAME)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

