"""Do the rungs rank the trials the way the full budget does?

``--halving`` keeps, at each rung, the trials with the best quick FID there. That keeps the
winner only where early quality ranks trials the way late quality does, which differs from grid
to grid. So every sweep measures its trials at the rungs on their way to the full budget, and
this module reads those records back: for each rung, over the trials that reached the full
budget, Spearman's rank correlation between the quick FID at the rung and the final FID, and
whether halving at that rung would have kept the winner (the trial with the best final FID).
"""
import math

from gan_mnist.sweeps.halving import KEEP, describe, keep

LOW = 0.5  # a rung whose correlation is below this ranks too loosely to halve at
MIN_TRIALS = 3  # fewer finished trials say nothing about a ranking


def rung_ranking(rows, share=KEEP):
    """One dict per rung seen in ``rows`` (report.collect's trials), in budget order: the rung,
    how many finished trials it has, Spearman's rho (None below MIN_TRIALS, or where every FID
    is the same), the winner's rank by quick FID among every trial measured there (1 is best),
    how many halving keeps there, and whether the winner is among them."""
    from scipy import stats

    finished = [r for r in rows if r.get("fid") is not None]
    if not finished:
        return []
    winner = min(finished, key=lambda r: (r["fid"], r["trial"]))
    ranking = []
    for rung in sorted({k for r in rows for k in r["rung_fids"]}, key=order):
        both = [r for r in finished if rung in r["rung_fids"]]
        rho = None
        if len(both) >= MIN_TRIALS:
            rho = float(stats.spearmanr([r["rung_fids"][rung] for r in both],
                                        [r["fid"] for r in both])[0])
            rho = None if math.isnan(rho) else rho
        measured = sorted((r["rung_fids"][rung], r["trial"]) for r in rows
                          if rung in r["rung_fids"])
        names = [name for _, name in measured]
        rank = names.index(winner["trial"]) + 1 if winner["trial"] in names else None
        kept = keep(len(names), share)
        ranking.append(dict(rung=rung, trials=len(both), measured=len(names), rho=rho,
                            winner=winner["trial"], winner_rank=rank, kept=kept,
                            keeps_winner=None if rank is None else rank <= kept))
    return ranking


def order(rung):
    """Rungs in budget order: steps ("100") or minutes ("0.2222min")."""
    return float(rung[:-3] if rung.endswith("min") else rung)


def verdict(entry):
    """One line on one rung, for results.md and the terminal."""
    where = describe(entry["rung"])
    if entry["winner_rank"] is None:
        return "%s: the winner was not measured there." % where
    rho = ("Spearman %.2f over %d finished trials" % (entry["rho"], entry["trials"])
           if entry["rho"] is not None else "too few finished trials for a correlation")
    kept = "would have kept" if entry["keeps_winner"] else "would have HALTED"
    return "%s: %s; halving here %s the winner (%s, quick FID rank %d of %d, %d kept)." % (
        where, rho, kept, entry["winner"], entry["winner_rank"], entry["measured"],
        entry["kept"])


def warnings(ranking):
    """A warning when the first rung ranks loosely or would have halted the winner."""
    if not ranking:
        return []
    first = ranking[0]
    low = first["rho"] is not None and first["rho"] < LOW
    if low or first["keeps_winner"] is False:
        return ["warning: the first rung (%s) ranks these trials %s: --halving may stop the "
                "best setting here; put the first rung later (--rungs)." % (
                    describe(first["rung"]), "loosely (Spearman %.2f)" % first["rho"]
                    if low else "so that the winner would be halted")]
    return []
