"""The on-disk mask cache: hits, damaged entries, two writer processes, LRU size cap, locations."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

import numpy as np
import pytest

from seemup.masks import NUM_MASKS, CachedMasks, MaskCache, MaskSource, frame_digest
from seemup.masks.cache import decode_entry, encode_entry


class CountingSource(MaskSource):
    """Deterministic masks from pixel thresholds, counting how many frames it really computed."""

    id = "test-threshold-v1"

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    def _masks(self, frame: np.ndarray) -> np.ndarray:
        self.calls += 1
        time.sleep(self.delay)
        gray = frame.astype(np.int32).sum(2)
        levels = np.arange(NUM_MASKS)[:, None, None] * 12
        return (gray[None] > levels).astype(np.uint8)


def _frames(n: int, h: int = 24, w: int = 40, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def _entries(cache: MaskCache) -> list[Path]:
    return sorted(cache.dir.rglob("*.msk"))


def test_second_run_all_hits_and_faster(tmp_path) -> None:
    frames = _frames(6)
    src = CountingSource(delay=0.05)
    first = CachedMasks(src, MaskCache(tmp_path))
    t0 = time.perf_counter()
    out1 = first.batch(frames)
    t_miss = time.perf_counter() - t0
    assert (first.stats.hits, first.stats.misses, src.calls) == (0, 6, 6)

    second = CachedMasks(src, MaskCache(tmp_path))  # a fresh process-like view of the same folder
    t0 = time.perf_counter()
    out2 = second.batch(frames)
    t_hit = time.perf_counter() - t0
    assert (second.stats.hits, second.stats.misses, src.calls) == (6, 0, 6)
    assert np.array_equal(out1, out2) and out2.dtype == np.uint8
    assert np.array_equal(out2[2], src(frames[2]))
    assert t_hit < t_miss / 3, (t_hit, t_miss)
    assert second(frames[0]).shape == (NUM_MASKS, 24, 40)


def test_key_is_content_and_source(tmp_path) -> None:
    cache = MaskCache(tmp_path)
    a, b = _frames(2)
    assert frame_digest(a) == frame_digest(a.copy()) != frame_digest(b)
    assert frame_digest(a) != frame_digest(a.reshape(40, 24, 3))  # same bytes, other shape
    other = CountingSource()
    other.id = "test-threshold-v2"
    CachedMasks(CountingSource(), cache)(a)
    cached_other = CachedMasks(other, cache)
    cached_other(a)
    assert cached_other.stats.misses == 1 and len(_entries(cache)) == 2


def test_duplicate_frames_in_a_batch_are_computed_once(tmp_path) -> None:
    src = CountingSource()
    f = _frames(1)[0]
    out = CachedMasks(src, MaskCache(tmp_path)).batch([f, f.copy(), f])
    assert src.calls == 1 and np.array_equal(out[0], out[2])


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage", "header-only"])
def test_damaged_entry_is_deleted_and_recomputed(tmp_path, damage) -> None:
    src = CountingSource()
    frame = _frames(1)[0]
    good = CachedMasks(src, MaskCache(tmp_path))(frame)
    (path,) = _entries(MaskCache(tmp_path))
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-5] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    elif damage == "garbage":
        data = bytearray(os.urandom(len(data)))
    else:
        data = data[:40]
    path.write_bytes(bytes(data))

    cache = MaskCache(tmp_path)
    assert cache.get(frame_digest(frame), src.id) is None and cache.corrupt == 1
    assert not path.exists()  # deleted, not left to fail again
    again = CachedMasks(src, cache)
    assert np.array_equal(again(frame), good)
    assert again.stats.misses == 1 and src.calls == 2
    assert decode_entry(path.read_bytes(), frame_digest(frame)) is not None  # rewritten intact


def test_entry_of_another_frame_is_rejected() -> None:
    masks = np.ones((NUM_MASKS, 3, 5), np.uint8)
    a, b = (frame_digest(f) for f in _frames(2, 3, 5))
    data = encode_entry(masks, a)
    assert np.array_equal(decode_entry(data, a), masks)
    assert decode_entry(data, b) is None


def _writer(cache_dir: str, seed: int, rounds: int, queue) -> None:  # runs in a child process
    try:
        frames = _frames(8, seed=0)
        src = CountingSource()
        cache = MaskCache(cache_dir)
        rng = np.random.default_rng(seed)
        for _ in range(rounds):
            for i in rng.permutation(len(frames)):
                digest = frame_digest(frames[i])
                cache.put(digest, src.id, src(frames[i]))  # both processes rewrite the same entries
                got = cache.get(digest, src.id)
                if got is None or not np.array_equal(got, src(frames[i])):
                    raise AssertionError(f"process {seed} read a bad entry")
        queue.put(("ok", cache.corrupt))
    except BaseException as exc:  # report to the parent instead of dying silently
        queue.put(("error", repr(exc)))


def test_two_processes_writing_the_same_entries(tmp_path) -> None:
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), seed, 15, queue)) for seed in (1, 2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert results == [("ok", 0), ("ok", 0)], results
    cache = MaskCache(tmp_path)
    entries = _entries(cache)
    assert len(entries) == 8 and not list(tmp_path.rglob(".*.tmp"))
    src = CountingSource()
    for frame in _frames(8, seed=0):
        assert np.array_equal(cache.get(frame_digest(frame), src.id), src(frame))


def test_lru_eviction_respects_the_cap(tmp_path) -> None:
    src = CountingSource()
    frames = _frames(10, 64, 64, seed=5)
    probe_cache = MaskCache(tmp_path / "probe")
    CachedMasks(src, probe_cache)(frames[0])
    entry_size = probe_cache.usage().bytes
    cap = int(entry_size * 4.5)

    cache = MaskCache(tmp_path / "c", max_bytes=cap)
    cached = CachedMasks(src, cache)
    cached.batch(frames[:4])
    paths = {i: cache.path(frame_digest(f), src.id) for i, f in enumerate(frames)}
    now = time.time()
    for i in range(4):  # make the write order unambiguous whatever the filesystem's time resolution
        os.utime(paths[i], (now - 100 + i, now - 100 + i))
    cached(frames[0])  # a hit: frame 0 becomes the most recently used
    assert cached.stats.hits == 1
    for i in range(4, 7):
        cached(frames[i])
        os.utime(paths[i], (now - 50 + i, now - 50 + i))
        assert cache.usage().bytes <= cap
    kept = {i for i, p in paths.items() if p.exists()}
    assert 0 in kept and 1 not in kept and 2 not in kept, kept  # the least recently used went first
    assert kept >= {0, 5, 6} and cache.evicted >= 3
    assert cache.usage().bytes <= cap


def test_default_locations(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("SEEMUP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert MaskCache().dir == tmp_path / "xdg" / "seemup" / "masks"
    monkeypatch.setenv("SEEMUP_CACHE_DIR", str(tmp_path / "mine"))
    assert MaskCache().dir == tmp_path / "mine"
    assert MaskCache(tmp_path / "arg").dir == tmp_path / "arg"
