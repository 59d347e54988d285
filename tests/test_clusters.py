"""--clusters K: k-means groups of the training digits stand in for labels (self-conditioning).
The clustering is real k-means, the first noise coordinate picks a cluster with the clusters'
shares, the assignment is kept in the checkpoint folder so a resume is bit-identical, and the
model samples, evaluates and exports like an unconditional one."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gan_mnist.errors import GanError
from gan_mnist.training import checkpoints, trainer
from gan_mnist.techniques import clusters, conditioning
from gan_mnist.core import data
from gan_mnist.evaluation import sampling
from gan_mnist.training import config as config_lib
from gan_mnist.tf_compat import tf
from tests.test_conditional import run_exported
from tests.test_export import PLAIN_TF, export


def test_kmeans_finds_two_obvious_groups_and_edges_are_their_shares():
    rng = np.random.RandomState(0)
    dark = rng.randint(0, 30, (30, 28, 28)).astype(np.uint8)
    bright = rng.randint(220, 256, (10, 28, 28)).astype(np.uint8)
    assignment = clusters.kmeans(np.concatenate([dark, bright]), 2, seed=0)
    assert assignment.dtype == np.uint8 and assignment.shape == (40,)
    assert len(set(assignment[:30])) == 1 and len(set(assignment[30:])) == 1
    assert assignment[0] != assignment[30]
    share_of_0 = 0.75 if assignment[0] == 0 else 0.25
    np.testing.assert_allclose(clusters.edges(assignment, 2), [share_of_0])
    np.testing.assert_allclose(clusters.edges(np.array([0, 2, 2, 2], np.uint8), 4),
                               [0.25, 0.25, 1.0])  # an empty cluster gets no share


def test_kmeans_answers_come_back_from_the_cache_and_a_bad_entry_is_made_again(
        tmp_path, monkeypatch, capsys):
    """A second fresh run on the same digits reads k-means' answer from the cache (no
    "clustering" line, the same groups); other seeds, groups or digits get entries of their
    own; a damaged entry, or a cache that cannot be written, only costs the k-means again."""
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path / "cache"))
    images = np.random.RandomState(3).randint(0, 256, (300, 28, 28)).astype(np.uint8)
    labels = np.arange(300) % 10
    first = clusters.cached_kmeans(images, 4, seed=0)
    assert "clustering the 300 training digits into 4 groups" in capsys.readouterr().out
    np.testing.assert_array_equal(first, clusters.kmeans(images, 4, seed=0))
    again = clusters.cached_kmeans(images, 4, seed=0)
    assert capsys.readouterr().out == "" and again.tobytes() == first.tobytes()
    entries = sorted((tmp_path / "cache" / "clusters").iterdir())
    assert len(entries) == 1 and entries[0].suffix == ".npy"
    clusters.cached_kmeans(images, 4, seed=1)
    clusters.cached_kmeans(images, 5, seed=0)
    clusters.cached_kmeans(images[::-1].copy(), 4, seed=0)
    within = clusters.cached_kmeans(images, 20, seed=0, labels=labels)
    np.testing.assert_array_equal(within // 2, labels)
    assert len(list((tmp_path / "cache" / "clusters").glob("*.npy"))) == 5
    capsys.readouterr()
    entries[0].write_bytes(b"not a numpy file")
    np.testing.assert_array_equal(clusters.cached_kmeans(images, 4, seed=0), first)
    assert "clustering" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(entries[0]), first)  # written again, whole
    (tmp_path / "cache").chmod(0o500)  # unwritable (root can still write: then it just works)
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path / "cache" / "sub"))
    try:
        np.testing.assert_array_equal(clusters.cached_kmeans(images, 4, seed=0), first)
    finally:
        (tmp_path / "cache").chmod(0o700)
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_the_first_noise_coordinate_picks_clusters_by_their_shares():
    z = np.random.RandomState(1).uniform(-1, 1, (200000, 3)).astype(np.float32)
    with tf.Graph().as_default(), tf.Session() as s:
        edges = tf.constant([0.1, 0.5])
        picked = s.run(conditioning.cluster_of_noise(tf.constant(z), edges))
        ends = s.run(conditioning.cluster_of_noise(tf.constant([[-1.0, 0], [0.0, 0], [0.9999, 0]]),
                                             edges))
    np.testing.assert_allclose(np.bincount(picked, minlength=3) / len(z), [0.1, 0.4, 0.5],
                               atol=0.005)
    assert ends.tolist() == [0, 2, 2]  # -1 -> 0 (share 0); 0 -> 0.5, the third cluster's start


def test_kmeans_starts_from_the_centres_scipy_picks(mnist_dir):
    """Our k-means++ start is SciPy's, only faster: the same centres, so the same clusters."""
    from scipy.cluster import vq

    images = data.load_split(mnist_dir, "train")[0][:3000]
    pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0
    for seed in (0, 1):
        _, scipy_assignment = vq.kmeans2(pixels, 12, iter=clusters.KMEANS_ITERATIONS,
                                         minit="++", seed=seed)
        np.testing.assert_array_equal(clusters.kmeans(images, 12, seed), scipy_assignment)
        # The start itself: one k-means iteration from it gives SciPy's centres after one.
        ours, _ = vq.kmeans2(pixels, clusters.kmeans_plus_plus(pixels, 12, seed), iter=1,
                             minit="matrix")
        theirs, _ = vq.kmeans2(pixels, 12, iter=1, minit="++", seed=seed)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_kmeans_groups_of_real_digits_are_mostly_one_digit(mnist_dir):
    """Purity: the share of digits that belong to their cluster's most common class. Chance
    (clusters unrelated to the digits) is about 0.11-0.13; k-means on pixels, K=20, reaches
    0.70 on these 10000 training digits (3 s; 0.70 on all 60000 too, in 16 s)."""
    images, labels = data.load_split(mnist_dir, "train")
    images, labels = images[:10000], labels[:10000]
    assignment = clusters.kmeans(images, 20, seed=0)
    counts = np.zeros((20, 10), np.int64)
    np.add.at(counts, (assignment, labels), 1)
    purity = counts.max(axis=1).sum() / float(len(labels))
    assert purity >= 0.6, "purity %.3f; digits of each class per cluster:\n%s" % (purity, counts)


def test_a_clusters_run_keeps_its_clusters_and_resumes_bit_identically(run_config, tmp_path):
    config = run_config(arch="fast", clusters=4, steps=20, ema=0.9, sample_every=20,
                        checkpoint_every=20, eval_every=0)
    assert trainer.train(config) == 0
    assignment = np.load(os.path.join(config.checkpoint_dir, clusters.CLUSTERS_FILE))
    assert assignment.shape == (60000,) and assignment.dtype == np.uint8
    assert set(np.unique(assignment)) == {0, 1, 2, 3}
    saved = config_lib.load_saved(config.checkpoint_dir)
    assert saved["clusters"] == 4
    resumed = config_lib.resolve({"steps": 40, "checkpoint_dir": config.checkpoint_dir,
                                  "output_dir": config.output_dir,
                                  "data_dir": config.data_dir}, saved)
    assert resumed.clusters == 4
    assert trainer.train(resumed) == 0
    straight = run_config(arch="fast", clusters=4, steps=40, ema=0.9, eval_every=0,
                          checkpoint_dir=str(tmp_path / "straight"),
                          output_dir=str(tmp_path / "straight_out"))
    os.makedirs(straight.checkpoint_dir)  # the same clusters, without running k-means again
    shutil.copy(os.path.join(config.checkpoint_dir, clusters.CLUSTERS_FILE),
                straight.checkpoint_dir)
    assert trainer.train(straight) == 0
    a = tf.train.load_checkpoint(checkpoints.latest(config.checkpoint_dir))
    b = tf.train.load_checkpoint(checkpoints.latest(straight.checkpoint_dir))
    names = [n for n, _ in tf.train.list_variables(checkpoints.latest(straight.checkpoint_dir))]
    assert "discriminator/projection/weights" in names or any(
        n.startswith("discriminator/projection") for n in names)
    for name in names:
        np.testing.assert_array_equal(a.get_tensor(name), b.get_tensor(name), err_msg=name)
    # The cluster shares are part of G (and of its moving average), read back for sampling.
    shares = np.bincount(assignment, minlength=4)[:-1].cumsum() / 60000.0
    np.testing.assert_allclose(a.get_tensor("generator/cluster_edges"), shares, rtol=1e-6)
    np.testing.assert_allclose(a.get_tensor("generator/ema/cluster_edges"), shares, rtol=1e-6)

    # Sampling is from noise alone. Within one cluster's share of [0, 1) the first coordinate
    # only picks the cluster: its start and its end give the same digit. Across an edge, the
    # cluster (and so the digit) changes.
    generator = sampling.Generator(config.checkpoint_dir)
    starts, ends = np.concatenate([[0.0], shares]), np.concatenate([shares, [1.0]])
    noise = np.tile(generator.noise(1, seed=3), (4, 1))
    noise[:, 0] = 2 * (starts + 0.001) - 1  # the start of each cluster
    digits = generator(noise)
    assert digits.shape == (4, 28, 28) and digits.dtype == np.uint8
    at_ends = noise.copy()
    at_ends[:, 0] = 2 * (ends - 0.001) - 1  # the end of each cluster
    np.testing.assert_array_equal(generator(at_ends), digits)
    assert all((digits[i] != digits[j]).any() for i in range(4) for j in range(i))
    with pytest.raises(GanError, match="this model is unconditional"):
        generator(noise, labels=[1, 2, 3, 0])
    # Exported, it is a plain noise -> digits model that picks clusters the same way.
    assert export("--checkpoint-dir", config.checkpoint_dir, "--out",
                  str(tmp_path / "model")).returncode == 0
    np.save(tmp_path / "z.npy", noise)
    job = dict(model=str(tmp_path / "model"), z=str(tmp_path / "z.npy"),
               out=str(tmp_path / "exported.npy"))
    (tmp_path / "jobs.json").write_text(json.dumps([job]))
    (tmp_path / "plain.py").write_text(PLAIN_TF)
    result = subprocess.run([sys.executable, "plain.py", "jobs.json"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert np.abs(np.load(tmp_path / "exported.npy").astype(int) - digits).max() <= 1


def test_clusters_are_part_of_the_model_and_bad_values_are_refused(tmp_path):
    saved = config_lib.Config(arch="fast", clusters=8).__dict__
    with pytest.raises(GanError, match="holds a model with clusters=8 but you asked for "
                                       "clusters=4; use --fresh"):
        config_lib.resolve({"clusters": 4}, saved)
    assert config_lib.resolve({}, saved).clusters == 8
    with pytest.raises(GanError, match="--clusters 1: split the digits into at least 2"):
        config_lib.resolve({"arch": "fast", "clusters": 1})
    for k in (4, 10, 25):  # with --conditional: K/10 groups per class, at least 2
        with pytest.raises(GanError, match="--clusters %d: with --conditional each class is split "
                                           "into K/10 groups, so K must be a multiple of 10" % k):
            config_lib.resolve({"arch": "fast", "clusters": k, "conditional": True})
    # A damaged assignment file: one clear sentence, and the file is left for the user.
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / clusters.CLUSTERS_FILE).write_bytes(b"not numpy")
    with pytest.raises(GanError, match="cannot read .*clusters.npy .*remove it to cluster"):
        clusters.load_or_make(str(folder), np.zeros((5, 28, 28), np.uint8), 2, 0)
    np.save(folder / clusters.CLUSTERS_FILE, np.array([0, 1, 5, 0, 1], np.uint8))
    with pytest.raises(GanError, match="not the 2-cluster assignment of 5 training digits"):
        clusters.load_or_make(str(folder), np.zeros((5, 28, 28), np.uint8), 2, 0)
    # Groups made without labels, read back by a --conditional run: refused, not trusted.
    np.save(folder / clusters.CLUSTERS_FILE, np.array([0, 19, 5, 0, 1], np.uint8))
    with pytest.raises(GanError, match="groups that do not follow the digits' classes"):
        clusters.load_or_make(str(folder), np.zeros((5, 28, 28), np.uint8), 20, 0,
                              labels=np.array([0, 9, 2, 0, 1]))
    assert (folder / clusters.CLUSTERS_FILE).exists()


def test_conditional_groups_split_each_class_and_a_class_picks_its_groups_by_share(mnist_dir):
    """--conditional --clusters K: K/10 k-means groups inside each class; asked for a class, G
    reads one of that class's groups, picked by z[:, 0] as often as the group holds its digits."""
    images, labels = data.load_split(mnist_dir, "train")
    images, labels = images[:3000], labels[:3000]
    assignment = clusters.kmeans_within_classes(images, labels, 30, seed=0)
    np.testing.assert_array_equal(assignment // 3, labels)
    assert set(np.unique(assignment)) == set(range(30))
    edges = clusters.edges_within_classes(np.array([0, 1, 1, 1, 2, 3, 3], np.uint8), 4, 2)
    np.testing.assert_allclose(edges, [[0.25], [1 / 3.0]])

    z = np.random.RandomState(2).uniform(-1, 1, (100000, 3)).astype(np.float32)
    classes = np.arange(len(z)) % 2
    class_rows = np.eye(10, dtype=np.float32)[classes]
    with tf.Graph().as_default(), tf.Session() as s:
        edges_2x10 = tf.constant(np.tile([[0.25], [1 / 3.0]], (5, 1)), tf.float32)
        rows = s.run(conditioning.groups_of_classes(
            tf.constant(z), tf.constant(class_rows), edges_2x10, 20))
        blend = s.run(conditioning.groups_of_classes(
            tf.constant([[0.0, 0, 0]]), tf.constant([[0, 0.5, 0.5] + [0] * 7]), edges_2x10, 20))
    picked = rows.argmax(axis=1)
    assert (rows.max(axis=1) == 1).all() and (picked // 2 == classes).all()
    np.testing.assert_allclose(np.bincount(picked, minlength=4)[:4] / (len(z) / 2.0),
                               [0.25, 0.75, 1 / 3.0, 2 / 3.0], atol=0.01)
    # A soft row blends the classes' groups as it blends classes (z[:, 0] = 0 is position 0.5).
    np.testing.assert_allclose(blend[0], np.eye(20)[3] * 0.5 + np.eye(20)[5] * 0.5)


def test_a_conditional_groups_run_draws_the_class_asked_for(run_config, tmp_path):
    """Trained on groups, sampled by class: the class asked for picks among its own groups
    (z[:, 0] at a group's start and end gives the same digit, across groups another), resumes,
    and the exported model takes a label as a --conditional one does."""
    config = run_config(arch="fast", conditional=True, clusters=20, steps=20, hidden=8,
                        z_dim=8, batch_size=16, sample_every=20, checkpoint_every=20,
                        eval_every=0)
    assert trainer.train(config) == 0
    assignment = np.load(os.path.join(config.checkpoint_dir, clusters.CLUSTERS_FILE))
    train_labels = data.load_split(config.data_dir, "train")[1]
    np.testing.assert_array_equal(assignment // 2, train_labels)
    edges = tf.train.load_checkpoint(checkpoints.latest(config.checkpoint_dir)).get_tensor(
        "generator/cluster_edges")
    np.testing.assert_allclose(edges, clusters.edges_within_classes(assignment, 20), rtol=1e-6)
    generator = sampling.Generator(config.checkpoint_dir)
    noise = np.tile(generator.noise(1, seed=3), (4, 1))
    share = float(edges[7, 0])
    noise[:, 0] = 2 * np.array([0.001, share - 0.001, share + 0.001, 0.999]) - 1
    sevens = generator(noise, labels=[7] * 4)
    np.testing.assert_array_equal(sevens[0], sevens[1])
    np.testing.assert_array_equal(sevens[2], sevens[3])
    assert (sevens[1] != sevens[2]).any()
    assert (generator(noise, labels=[1] * 4) != sevens).any()
    assert export("--checkpoint-dir", config.checkpoint_dir, "--out",
                  str(tmp_path / "model")).returncode == 0
    exported, _ = run_exported(str(tmp_path / "model"), noise, np.array([7, 7, 7, 1], np.int32),
                               tmp_path)
    asked = generator(noise, labels=[7, 7, 7, 1])
    assert np.abs(exported.astype(int) - asked.astype(int)).max() <= 1
    resumed = config_lib.resolve({"steps": 40, "checkpoint_dir": config.checkpoint_dir,
                                  "output_dir": config.output_dir,
                                  "data_dir": config.data_dir},
                                 config_lib.load_saved(config.checkpoint_dir))
    assert (resumed.conditional, resumed.clusters) == (True, 20)
    assert trainer.train(resumed) == 0
    assert checkpoints.step_in_path(checkpoints.latest(config.checkpoint_dir)) == 40


def test_kmeans_cache_a_half_written_or_foreign_entry_and_other_labels(tmp_path, monkeypatch,
                                                                        capsys):
    """Entries a kill cut short (the first half of a real .npy), or that hold another answer's
    shape (k-means of other digits), are computed again and rewritten; the same digits with
    other labels are another entry."""
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path / "cache"))
    images = np.random.RandomState(4).randint(0, 256, (200, 28, 28)).astype(np.uint8)
    labels = np.arange(200) % 10
    first = clusters.cached_kmeans(images, 20, seed=0, labels=labels)
    np.testing.assert_array_equal(first // 2, labels)
    (entry,) = (tmp_path / "cache" / "clusters").glob("*.npy")
    whole = entry.read_bytes()
    for damaged in (whole[:len(whole) // 2], whole[:100]):
        entry.write_bytes(damaged)
        capsys.readouterr()
        np.testing.assert_array_equal(clusters.cached_kmeans(images, 20, seed=0, labels=labels),
                                      first)
        assert "clustering the 200 training digits" in capsys.readouterr().out
        assert entry.read_bytes() == whole
    np.save(str(entry), np.zeros(50, np.uint8))  # a valid .npy, but not 200 rows
    np.testing.assert_array_equal(clusters.cached_kmeans(images, 20, seed=0, labels=labels),
                                  first)
    assert entry.read_bytes() == whole
    other = (labels + 3) % 10
    np.testing.assert_array_equal(clusters.cached_kmeans(images, 20, seed=0, labels=other) // 2,
                                  other)
    assert len(list((tmp_path / "cache" / "clusters").glob("*.npy"))) == 2


def test_kmeans_cache_entry_that_cannot_be_replaced_leaves_no_scratch_file(tmp_path,
                                                                            monkeypatch):
    """Where the entry's name is taken by a folder (root can write anywhere, so this is how a
    write fails here), k-means still answers and no .tmp file is left beside it."""
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path / "cache"))
    images = np.random.RandomState(5).randint(0, 256, (120, 28, 28)).astype(np.uint8)
    first = clusters.cached_kmeans(images, 3, seed=0)
    (entry,) = (tmp_path / "cache" / "clusters").glob("*.npy")
    entry.unlink()
    entry.mkdir()
    np.testing.assert_array_equal(clusters.cached_kmeans(images, 3, seed=0), first)
    assert sorted(p.name for p in (tmp_path / "cache" / "clusters").iterdir()) == [entry.name]
