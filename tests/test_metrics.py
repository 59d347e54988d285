"""Metrics against cases whose answers are known by hand."""
import numpy as np
import pytest

from gan_mnist.evaluation import metrics


def one_hot(classes, num_classes=10):
    return np.eye(num_classes)[classes]


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_inception_score_of_k_equal_confident_classes_is_k(k):
    probs = one_hot(np.tile(np.arange(k), 100))
    mean, std = metrics.inception_score(probs, splits=10)
    assert mean == pytest.approx(k, rel=1e-6) and std == pytest.approx(0, abs=1e-6)


def test_inception_score_of_unsure_predictions_is_one():
    mean, _ = metrics.inception_score(np.full((500, 10), 0.1))
    assert mean == pytest.approx(1.0)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_shift():
    x = np.random.RandomState(0).normal(size=(2000, 16))
    assert metrics.fid(x, x) == pytest.approx(0, abs=1e-4)
    small, large = metrics.fid(x, x + 0.5), metrics.fid(x, x + 1.0)
    assert 0 < small < large
    assert small == pytest.approx(16 * 0.25, rel=1e-3)  # a pure mean shift adds ||d||^2
    assert large == pytest.approx(16 * 1.0, rel=1e-3)


def test_fid_counts_a_change_of_spread():
    x = np.random.RandomState(1).normal(size=(5000, 4))
    # N(0, I) vs N(0, 4I): trace term 4 * (1 + 4 - 2*2) = 4
    assert metrics.fid(x, 2 * x) == pytest.approx(4.0, rel=0.02)


def _rotation(degrees):
    a = np.radians(degrees)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def test_fid_of_gaussians_whose_covariances_do_not_commute():
    """A = diag(4, 1) turned by 45 degrees = [[2.5, 1.5], [1.5, 2.5]], B = diag(1, 9): AB != BA.
    For 2x2 matrices whose product has positive eigenvalues s1^2, s2^2,
    Tr (AB)^(1/2) = s1 + s2 = sqrt(Tr AB + 2 sqrt(det A det B)) = sqrt(25 + 2 * 6) = sqrt(37),
    so FID = |(1, 0) - (0, 2)|^2 + 5 + 10 - 2 sqrt(37) = 20 - 2 sqrt(37). The shortcuts give
    other numbers: Tr(A^(1/2) B^(1/2)) = 6, Tr sqrt(A * B elementwise) = 6.32."""
    a = _rotation(45).dot(np.diag([4.0, 1.0])).dot(_rotation(45).T)
    b = np.diag([1.0, 9.0])
    np.testing.assert_allclose(a, [[2.5, 1.5], [1.5, 2.5]])
    assert not np.allclose(a.dot(b), b.dot(a))
    expected = 20 - 2 * np.sqrt(37)  # 7.8345
    fid = metrics.frechet_distance((np.array([1.0, 0.0]), a), (np.array([0.0, 2.0]), b))
    assert fid == pytest.approx(expected, rel=1e-5)
    naive, elementwise = 20 - 2 * 6.0, 20 - 2 * (np.sqrt(2.5) + np.sqrt(22.5))
    assert abs(fid - naive) > 0.1 and abs(fid - elementwise) > 0.1
    assert metrics.frechet_distance((np.zeros(2), b), (np.zeros(2), a)) == pytest.approx(
        expected - 5, rel=1e-5)  # symmetric


def test_fid_of_random_3d_gaussians_matches_the_symmetric_form():
    """Tr (AB)^(1/2) = Tr (A^(1/2) B A^(1/2))^(1/2), the latter from eigendecompositions of
    symmetric matrices only."""
    def sqrt_spd(m):
        values, vectors = np.linalg.eigh(m)
        return (vectors * np.sqrt(np.maximum(values, 0))).dot(vectors.T)

    rng = np.random.RandomState(3)
    for _ in range(5):
        x, y = rng.normal(size=(2, 3, 3))
        a, b = x.dot(x.T) + 0.1 * np.eye(3), y.dot(y.T) + 0.1 * np.eye(3)
        mu_a, mu_b = rng.normal(size=(2, 3))
        root_a = sqrt_spd(a)
        expected = (np.sum((mu_a - mu_b) ** 2) + np.trace(a) + np.trace(b)
                    - 2 * np.trace(sqrt_spd(root_a.dot(b).dot(root_a))))
        assert metrics.frechet_distance((mu_a, a), (mu_b, b)) == pytest.approx(expected,
                                                                                rel=1e-4)


def test_fid_survives_dead_features():
    x = np.random.RandomState(2).normal(size=(500, 8))
    x[:, 3] = 0  # a ReLU unit that never fires: a singular covariance
    assert metrics.fid(x, x) == pytest.approx(0, abs=1e-3)
    assert np.isfinite(metrics.fid(x, x + 1))


def test_mode_coverage():
    collapsed = metrics.mode_coverage(one_hot(np.full(100, 3)))
    assert collapsed["modes_covered"] == 1 and collapsed["tv_from_uniform"] == pytest.approx(0.9)
    balanced = metrics.mode_coverage(one_hot(np.tile(np.arange(10), 10)))
    assert balanced["modes_covered"] == 10 and balanced["tv_from_uniform"] == pytest.approx(0)
    assert balanced["class_share"] == [0.1] * 10
    # 4% is not enough to count as covered
    classes = np.concatenate([np.zeros(4), np.ones(96)]).astype(int)
    assert metrics.mode_coverage(one_hot(classes))["modes_covered"] == 1


def test_precision_recall():
    rng = np.random.RandomState(0)
    real = rng.normal(size=(1000, 8))
    p, r = metrics.precision_recall(real, real)
    assert p == 1.0 and r == 1.0
    p, r = metrics.precision_recall(real, real + 100)  # far away: neither realistic nor covering
    assert p == 0.0 and r == 0.0
    half = real[real[:, 0] > 0]  # mode dropping: realistic, but covers only half
    p, r = metrics.precision_recall(real, half)
    assert p == 1.0 and 0.4 < r < 0.75


def test_nearest_neighbours_finds_copies_and_can_skip_itself():
    refs = np.random.RandomState(0).rand(50, 784).astype(np.float32)
    distance, index = metrics.nearest_neighbours(refs[[7, 3]], refs)
    assert list(index) == [7, 3] and np.allclose(distance, 0, atol=1e-3)
    distance, index = metrics.nearest_neighbours(refs[:20], refs, skip=np.arange(20), block=16)
    assert (index >= 20).all() and (distance > 1).all()
    # Blocks of references, uint8 rows, skipped rows in several blocks: what all pairs say.
    digits = np.random.RandomState(1).randint(0, 256, (300, 28, 28)).astype(np.uint8)
    skip = np.arange(0, 300, 7)
    whole = metrics.nearest_neighbours(digits[skip], digits, skip=skip, block=1000)
    blocks = metrics.nearest_neighbours(digits[skip], digits, skip=skip, block=64)
    pairs = np.sqrt(((digits[skip, None].astype(float) - digits[None].astype(float)) ** 2)
                    .sum((2, 3))) / 255
    pairs[:, skip] = np.inf
    for found in (whole, blocks):
        np.testing.assert_array_equal(found[1], pairs.argmin(1))
        np.testing.assert_allclose(found[0], pairs.min(1), rtol=1e-5)
    np.testing.assert_array_equal(metrics.nearest_neighbours(digits[[250, 5]], digits)[1], [250, 5])
    summary = metrics.distance_summary(distance)
    assert summary["min"] <= summary["p01"] <= summary["p05"] <= summary["median"]


def test_precision_recall_with_the_real_radii_given_is_the_same():
    """The evaluator hands in the test digits' radii it keeps (cached): the same numbers."""
    rng = np.random.RandomState(0)
    real, fake = rng.randn(300, 8), rng.randn(200, 8) + 0.5
    radii = metrics.kth_neighbour_radii(real.astype(np.float32), 3)
    assert metrics.precision_recall(real, fake, 3, radii) == metrics.precision_recall(real, fake)


def test_chunked_radii_and_manifold_equal_all_pairs_at_a_size_that_chunks():
    """6,000 rows is past one chunk (about 700 rows of a 6,000-column distance matrix): the k-th
    neighbour radii, who lies inside whose balls, and so precision and recall equal what all
    pairs at once say (scipy's cdist), chunk edges included."""
    from scipy.spatial.distance import cdist

    rng = np.random.RandomState(0)
    real = rng.randn(6000, 8).astype(np.float32)
    fake = (rng.randn(6000, 8) * 0.8 + 0.6).astype(np.float32)
    assert metrics._rows_per_chunk(len(real)) < len(real) / 4  # several chunks, the last partial
    k = 3
    pairs = cdist(real, real, "sqeuclidean")
    expected = np.sort(pairs, axis=1)[:, k]  # column 0 is each row itself
    radii = metrics.kth_neighbour_radii(real, k)
    np.testing.assert_allclose(radii, expected, rtol=1e-4, atol=1e-4)
    fake_pairs = cdist(fake, fake, "sqeuclidean")
    fake_radii = np.sort(fake_pairs, axis=1)[:, k]
    precision = (cdist(fake, real, "sqeuclidean") <= expected[None, :]).any(1).mean()
    recall = (cdist(real, fake, "sqeuclidean") <= fake_radii[None, :]).any(1).mean()
    assert 0.3 < precision < 0.95 and 0.3 < recall < 0.95  # neither side trivially all or none
    p, r = metrics.precision_recall(real, fake, k)
    assert p == pytest.approx(precision, abs=1e-3) and r == pytest.approx(recall, abs=1e-3)


def test_a_class_with_exactly_five_percent_counts_and_shares_are_rounded_to_four_places():
    # 19 threes and 1 seven: 95% and 5%; 5% is MODE_SHARE, enough to count as covered.
    edge = metrics.mode_coverage(one_hot(np.array([3] * 19 + [7])))
    assert edge["class_share"] == [0, 0, 0, 0.95, 0, 0, 0, 0.05, 0, 0]
    assert edge["modes_covered"] == 2
    # |0.95 - 0.1| + |0.05 - 0.1| + 8 * 0.1 = 1.7, halved
    assert edge["tv_from_uniform"] == pytest.approx(0.85)
    thirds = metrics.mode_coverage(one_hot(np.array([0, 1, 2])))
    assert thirds["class_share"] == [0.3333, 0.3333, 0.3333] + [0.0] * 7


def test_distance_summary_of_0_to_100_is_its_percentiles_and_mean():
    assert metrics.distance_summary(np.arange(101.0)) == {
        "min": 0.0, "p01": 1.0, "p05": 5.0, "median": 50.0, "mean": 50.0}
    assert metrics.distance_summary(np.array([4.0, 2.0, 9.0])) == {
        "min": 2.0, "p01": pytest.approx(2.04), "p05": pytest.approx(2.2), "median": 4.0,
        "mean": 5.0}


def test_nearest_neighbours_finds_the_first_reference_and_keeps_the_first_of_equal_ones():
    refs = np.random.RandomState(2).rand(6, 784).astype(np.float32)
    distance, index = metrics.nearest_neighbours(refs[[0]], refs)
    assert list(index) == [0] and distance[0] == 0 and distance.dtype == np.float32
    # Rows 1 and 4 are the same digit: the earlier one is named, however the rows are blocked.
    refs[4] = refs[1]
    for block in (1, 2, 4096):
        assert list(metrics.nearest_neighbours(refs[[1]], refs, block=block)[1]) == [1], block


def test_nearest_neighbours_across_blocks_with_a_short_last_block():
    """Seven references read in blocks of four (the last block short, as 60,000 training
    digits in blocks of 4,096 are): ties go to the first block, and a skipped row of the short
    block is the one skipped. Pixel values hand-picked; distances are |a - b| / 255."""
    references = np.array([10, 20, 30, 40, 20, 10, 30], np.uint8).reshape(7, 1, 1)
    samples = np.array([20, 10, 30], np.uint8).reshape(3, 1, 1)
    distance, index = metrics.nearest_neighbours(samples, references, block=4)
    assert index.tolist() == [1, 0, 2]  # not 4, 5, 6: equal ones keep the first
    np.testing.assert_allclose(distance, 0, atol=1e-7)
    distance, index = metrics.nearest_neighbours(samples, references, skip=[0, 5], block=4)
    assert index.tolist() == [1, 1, 2]  # both tens skipped: 10's nearest is the first 20
    np.testing.assert_allclose(distance, [0, 10 / 255, 0], atol=1e-6)


def test_precision_recall_of_integer_points_on_a_line_past_one_chunk():
    """2,100 points at 0, 1, ..., 2099 (more rows than a chunk of 1,997) against the same
    points moved by 4; every distance is an integer float32 holds exactly. Squared radius to the
    3rd neighbour: 9 at the two ends, 4 elsewhere. Moved points inside the real balls: all but
    2103 (4 from 2099, whose radius is 3); real points inside the moved balls: all but 0."""
    real = np.arange(2100, dtype=np.float32)[:, None]
    assert metrics._rows_per_chunk(len(real)) < len(real)
    radii = metrics.kth_neighbour_radii(real, k=3)
    assert radii[[0, 1, 1000, 1997, 2098, 2099]].tolist() == [9, 4, 4, 4, 4, 9]
    assert (radii[2:-2] == 4).all()
    precision, recall = metrics.precision_recall(real, real + 4, k=3)
    assert (precision, recall) == (2099 / 2100, 2099 / 2100)
