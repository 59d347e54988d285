"""Downloads from a real HTTP server on 127.0.0.1 that serves the real MNIST files."""
import functools
import gzip
import hashlib
import http.server
import os
import shutil
import threading

import pytest

from gan_mnist import GanError
from gan_mnist.core import data

STEM = "train-labels-idx1-ubyte"  # the smallest real file keeps these tests fast


@pytest.fixture
def server(tmp_path):
    """Serves ``tmp_path/www`` on 127.0.0.1; yields (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % httpd.server_address[1], root
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_over_http_verifies_and_renames(server, mnist_dir, tmp_path):
    url, root = server
    shutil.copy(os.path.join(mnist_dir, STEM + ".gz"), root)
    target = tmp_path / "data"
    path = data.download(STEM, str(target), mirrors=[url])
    assert path == str(target / (STEM + ".gz"))
    assert sorted(os.listdir(target)) == [STEM + ".gz"]
    labels = data.load_file(str(target), STEM, download_missing=False)
    assert labels.shape == (60000,)


def test_load_split_downloads_missing_files_from_env_mirror(server, mnist_dir, tmp_path,
                                                             monkeypatch):
    url, root = server
    for stem in data.SPLITS["test"]:
        shutil.copy(os.path.join(mnist_dir, stem + ".gz"), root)
    monkeypatch.setenv("MNIST_MIRRORS", "http://127.0.0.1:1/nothing-here/ " + url)
    images, labels = data.load_split(str(tmp_path / "data"), "test")
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)


def test_file_url_mirror(mnist_dir, tmp_path):
    url = "file://" + os.path.abspath(mnist_dir) + "/"
    data.download(STEM, str(tmp_path), mirrors=[url])
    assert os.listdir(tmp_path) == [STEM + ".gz"]


def one_label_changed(mnist_dir, root):
    """The real file, decompressed, with one byte (a label) flipped, gzipped again."""
    with gzip.open(os.path.join(mnist_dir, STEM + ".gz"), "rb") as f:
        raw = f.read()
    assert hashlib.sha256(raw).hexdigest() == data.MNIST_FILES[STEM]
    with gzip.open(root / (STEM + ".gz"), "wb") as f:
        f.write(raw[:-1] + bytes([raw[-1] ^ 0x01]))


def another_file(mnist_dir, root):
    shutil.copy(os.path.join(mnist_dir, "t10k-labels-idx1-ubyte.gz"), root / (STEM + ".gz"))


@pytest.mark.parametrize("serve", [one_label_changed, another_file])
def test_wrong_bytes_fail_with_clear_error_and_leave_nothing(server, mnist_dir, tmp_path, serve):
    url, root = server
    # A mirror that serves valid gzip with the wrong content under this name.
    serve(mnist_dir, root)
    target = tmp_path / "data"
    with pytest.raises(GanError) as error:
        data.download(STEM, str(target), mirrors=[url])
    message = str(error.value)
    assert "wrong content" in message and url in message and str(target) in message
    assert os.listdir(target) == []


def test_missing_everywhere_lists_each_mirror(server, tmp_path):
    url, _ = server
    target = tmp_path / "data"
    with pytest.raises(GanError) as error:
        data.download(STEM, str(target), mirrors=[url, url + "other/"])
    message = str(error.value)
    assert message.count("HTTP 404") == 2 and "by hand" in message
    assert os.listdir(target) == []
