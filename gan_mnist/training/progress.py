"""The training progress bar: towards the target step, or, for a time budget with no step limit
(``--minutes`` alone), towards the end of the budget, so its estimate is the time left."""
import time


class Progress:
    def __init__(self, config, step):
        from tqdm import tqdm

        self.by_time = not config.steps and config.minutes
        self.step, self.start = step, time.time()
        if self.by_time:
            self.bar = tqdm(total=round(config.minutes * 60), unit="s", dynamic_ncols=True,
                            desc="training", bar_format="{desc}{percentage:3.0f}%%|{bar}| "
                            "{elapsed} of %s, {remaining} left{postfix}"
                            % _clock(config.minutes * 60))
        else:
            self.bar = tqdm(total=config.steps, initial=step, unit="step", dynamic_ncols=True,
                            desc="training")

    def advance(self, step, pretraining):
        """One more step done."""
        self.step = step
        phase = "pre-training D" if pretraining else "training"
        if self.by_time:
            self.bar.set_description("%s, step %d" % (phase, step), refresh=False)
            self.bar.update(min(time.time() - self.start, self.bar.total) - self.bar.n)
        else:
            self.bar.set_description(phase, refresh=False)
            self.bar.update(1)

    def status(self, text):
        self.bar.set_postfix_str(text, refresh=False)

    def close(self):
        self.bar.close()


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return "%02d:%02d" % (minutes, seconds) if minutes < 60 else "%d:%02d:%02d" % (
        minutes // 60, minutes % 60, seconds)
