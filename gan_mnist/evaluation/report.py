"""A full evaluation written to disk: evaluation.json and the memorisation figures.

What ``evaluate.py`` does, as a function a program (or a notebook) can call: it returns the
report as a dict, so nothing has to parse printed text.
"""
from gan_mnist.files import check_writable
from gan_mnist.evaluation import evaluate, figures, metrics, sampling


def digits_of_checkpoint(checkpoint_dir, n=metrics.EVAL_N, seed=0):
    """``n`` digits from the newest checkpoint, class-balanced for a conditional model:
    (digits, labels or None, step, dataset)."""
    generator = sampling.Generator(checkpoint_dir)
    labels = generator.conditioning.user_labels(n)  # class-balanced when it takes classes
    digits = generator(generator.noise(n, seed), labels)
    return digits, labels, generator.step, generator.config.dataset


def digits_of_file(path):
    """Digits saved by sample.py --npy, and their labels when a .labels.npy lies beside."""
    import os

    digits = evaluate.load_samples(path)
    labels = None
    if os.path.exists(sampling.labels_path(path)):
        labels = evaluate.load_labels(sampling.labels_path(path), len(digits))
    return digits, labels


def write(digits, output_dir, labels=None, step=None, source=None, dataset="mnist",
          classifier_dir=None, data_dir=None, seed=0):
    """Measure ``digits`` against real ones and write evaluation.json and the figures into
    ``output_dir``; returns (report, paths written)."""
    check_writable(output_dir, "output")
    evaluator = evaluate.Evaluator(classifier_dir, data_dir, dataset)
    report, (fake_distance, fake_nearest), (real_distance, _) = evaluator.full(
        digits, seed, labels)
    report.update(step=step, source=source, dataset=dataset)
    train_images = evaluator.train_images
    paths = [evaluate.write_report(report, output_dir),
             figures.nearest_neighbours(output_dir, digits, train_images, nearest=fake_nearest),
             figures.closest_pairs(output_dir, digits, train_images, fake_distance,
                                   fake_nearest),
             figures.memorisation(output_dir, fake_distance, real_distance)]
    return report, paths
