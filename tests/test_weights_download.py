"""Downloads: file:// and a local HTTP server, hash check, nothing half-written left, clear offline error, CLI."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from seemup.cli import main
from seemup.errors import UserError
from seemup.weights import download
from seemup.weights.manifest import WeightSet

PAYLOAD = bytes(range(256)) * 4096 + b"tail"  # ~1 MiB, several read chunks
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def _entry(urls: list[str], sha256: str | None = DIGEST, prefix: str | None = None, name: str = "blob") -> WeightSet:
    return WeightSet(name=name, kind="full", model="basicvsr-tiny", file=f"{name}.pth", origin="official",
                     sha256=sha256, sha256_prefix=prefix, urls=tuple(urls), reference="test")


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.fixture()
def source(tmp_path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "blob.pth").write_bytes(PAYLOAD)
    (src / "page.html").write_text("<html>please confirm</html>")
    return src


@pytest.fixture()
def server(source):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.path == "/short.pth":  # promises more bytes than it sends
                self.send_response(200)
                self.send_header("Content-Length", str(len(PAYLOAD)))
                self.end_headers()
                self.wfile.write(PAYLOAD[:1000])
                return
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(source)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    user = tmp_path / "user"
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(user))
    return user


def test_file_url_download_with_progress(source, tmp_path, capsys):
    dest = tmp_path / "dest"
    path = download(_entry([(source / "blob.pth").as_uri()]), dest)
    assert path == dest / "blob.pth" and path.read_bytes() == PAYLOAD
    assert _leftovers(dest) == ["blob.pth"]
    assert "blob" in capsys.readouterr().err  # the progress bar was drawn
    download(_entry([(source / "blob.pth").as_uri()]), tmp_path / "quiet", quiet=True)
    assert capsys.readouterr().err == ""


def test_http_download_and_prefix_hash(server, user_dir):
    path = download(_entry([f"{server}/blob.pth"], sha256=None, prefix=DIGEST[:8]), quiet=True)
    assert path == user_dir / "blob.pth" and path.read_bytes() == PAYLOAD
    assert _leftovers(user_dir) == [".sha256-cache.json", "blob.pth"]


def test_wrong_hash_leaves_nothing(server, tmp_path):
    dest = tmp_path / "dest"
    with pytest.raises(UserError, match=f"wrong file: its sha256 is {DIGEST}"):
        download(_entry([f"{server}/blob.pth"], sha256="0" * 64), dest, quiet=True)
    assert _leftovers(dest) == []


def test_web_page_and_short_transfer_are_rejected(server, tmp_path):
    dest = tmp_path / "dest"
    with pytest.raises(UserError, match="web page instead of the file"):
        download(_entry([f"{server}/page.html"]), dest, quiet=True)
    with pytest.raises(UserError, match="(transfer interrupted|cut short)"):
        download(_entry([f"{server}/short.pth"]), dest, quiet=True)
    assert _leftovers(dest) == []


def test_next_url_is_tried(server, closed_port, tmp_path):
    entry = _entry([f"http://127.0.0.1:{closed_port}/blob.pth", f"{server}/blob.pth"])
    assert download(entry, tmp_path / "dest", quiet=True).read_bytes() == PAYLOAD


def test_offline_error_says_where_to_put_the_file(closed_port, tmp_path):
    dest = tmp_path / "dest"
    with pytest.raises(UserError) as err:
        download(_entry([f"http://127.0.0.1:{closed_port}/blob.pth"]), dest, quiet=True)
    message = str(err.value)
    assert "\n" not in message and "unreachable" in message
    assert f"save it as {dest / 'blob.pth'} (sha256 {DIGEST})" in message
    assert "`seemup weights verify blob`" in message
    assert _leftovers(dest) == []


def test_good_existing_file_is_kept_and_bad_one_replaced(server, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "blob.pth").write_bytes(b"corrupt")
    assert download(_entry([f"{server}/blob.pth"]), dest, quiet=True).read_bytes() == PAYLOAD
    before = (dest / "blob.pth").stat().st_mtime_ns
    download(_entry(["http://127.0.0.1:9/never-used"]), dest, quiet=True)  # verified copy there: no fetch
    assert (dest / "blob.pth").stat().st_mtime_ns == before


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out = capsys.readouterr()
    return done.value.code or 0, out.out, out.err


def test_cli_download_verify_list(source, closed_port, user_dir, capsys):
    user_dir.mkdir()
    (user_dir / "manifest.toml").write_text(
        f'[[weights]]\nname = "blob"\nkind = "full"\nmodel = "basicvsr-tiny"\nfile = "blob.pth"\n'
        f'sha256 = "{DIGEST}"\nurls = ["{(source / "blob.pth").as_uri()}"]\norigin = "official"\nreference = "test"\n'
        f'[[weights]]\nname = "offline"\nkind = "full"\nmodel = "basicvsr-tiny"\nfile = "offline.pth"\n'
        f'sha256 = "{DIGEST}"\nurls = ["http://127.0.0.1:{closed_port}/x.pth"]\norigin = "official"\n'
        'reference = "test"\n')
    code, out, _ = _cli(["weights", "download", "blob", "--quiet"], capsys)
    assert code == 0 and str(user_dir / "blob.pth") in out
    code, out, _ = _cli(["weights", "verify", "blob"], capsys)
    assert code == 0 and "verified" in out
    code, out, _ = _cli(["weights", "list"], capsys)
    assert code == 0 and "blob" in out and "basicvsr-reds4" in out
    # the shipped lite weights come with their int8 calibration (the name may fold over lines)
    assert any("basicvsr-lite" in line and "+ int8" in line for line in out.splitlines())

    code, _, err = _cli(["weights", "download", "offline", "-q"], capsys)
    assert code == 1 and err.startswith("error: cannot download offline") and "save it as" in err
    assert "Traceback" not in err
    code, _, err = _cli(["weights", "download", "no-such-set"], capsys)
    assert code == 1 and "unknown weight set 'no-such-set'" in err
    code, _, err = _cli(["weights", "verify", "offline"], capsys)
    assert code == 1 and "not installed" in err

    (user_dir / "blob.pth").write_bytes(b"tampered")
    code, out, err = _cli(["weights", "verify", "-q"], capsys)
    assert code == 1 and "mismatch" in out and "do not match the manifest" in err
