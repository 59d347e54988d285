"""Downloads from a real HTTP server on 127.0.0.1 and from file:// mirrors, serving the real MNIST
files; the train command with no files and no mirror that answers."""
import functools
import gzip
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading

import pytest

from gan_mnist.errors import GanError
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


def test_file_url_mirror(mnist_dir, tmp_path, capsys):
    """A mirror that does not exist is passed over in silence; the one that answers is named
    once, and its file renamed into place."""
    url = "file://" + os.path.abspath(mnist_dir) + "/"
    data.download(STEM, str(tmp_path), mirrors=["file://%s/" % (tmp_path / "nowhere"), url])
    assert os.listdir(tmp_path) == [STEM + ".gz"]
    assert capsys.readouterr().err == "downloading %s%s.gz\n" % (url, STEM)


def test_a_download_cut_short_leaves_nothing(mnist_dir, tmp_path, capsys):
    """A real download over file:// of a file cut short (as a mirror's half-synced copy): it is
    fetched, found truncated and removed; with no other mirror, the folder this call made goes
    too, and the error says what each mirror did."""
    half = tmp_path / "half"
    half.mkdir()
    whole = open(os.path.join(mnist_dir, STEM + ".gz"), "rb").read()
    (half / (STEM + ".gz")).write_bytes(whole[:len(whole) // 2])
    target = tmp_path / "data"
    nowhere = "file://%s/" % (tmp_path / "nowhere")
    with pytest.raises(GanError) as error:
        data.download(STEM, str(target), mirrors=["file://%s/" % half, nowhere])
    message = str(error.value)
    assert "%s%s.gz (not a complete gzip file: it is truncated (its compressed data ends early))" \
        % ("file://%s/" % half, STEM) in message, message
    assert "%s%s.gz (" % (nowhere, STEM) in message and "by hand" in message
    assert not target.exists()
    assert capsys.readouterr().err == "downloading file://%s/%s.gz\n" % (half, STEM)


def test_train_command_in_an_empty_folder_offline_is_one_line(tmp_path):
    """scripts/train.py as a user types it, with an empty --data-dir and no mirror that answers
    (a file:// folder that does not exist, a port nobody listens on): exactly one line on stderr,
    naming the file and what to do, exit status 1, no file in the data folder."""
    from tests.conftest import REPO

    target = tmp_path / "data"
    target.mkdir()
    env = dict(os.environ, MNIST_MIRRORS="file://%s/ http://127.0.0.1:1/mnist/"
               % (tmp_path / "nowhere"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "scripts", "train.py"), "--data-dir", str(target),
         "--steps", "1", "--checkpoint-dir", str(tmp_path / "c"), "--output-dir",
         str(tmp_path / "o")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: could not download train-images-idx3-ubyte.gz: tried "
                               "file://%s/train-images-idx3-ubyte.gz (" % (tmp_path / "nowhere"))
    assert lines[0].endswith("; copy the four files (train-images-idx3-ubyte.gz, "
                             "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                             "t10k-labels-idx1-ubyte.gz; .gz or uncompressed) into %s by hand, or "
                             "set MNIST_MIRRORS to base URLs that serve them" % target), lines[0]
    assert os.listdir(target) == []
    # Nothing half-made: the checkpoint and output folders the run would have used are not left
    assert not (tmp_path / "c").exists() and not (tmp_path / "o").exists()


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
    assert not target.exists()  # the folder this call made is removed again


def test_missing_everywhere_lists_each_mirror(server, tmp_path):
    url, _ = server
    target = tmp_path / "data"
    target.mkdir()  # the user's folder stays
    with pytest.raises(GanError) as error:
        data.download(STEM, str(target), mirrors=[url, url + "other/"])
    message = str(error.value)
    assert message.count("HTTP 404") == 2 and "by hand" in message
    assert os.listdir(target) == []
