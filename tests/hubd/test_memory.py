"""hubd.memory gives the C heap's free memory back to the system (glibc's malloc_trim)."""

import asyncio
import threading
import time

import pytest

from hubd import memory


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(memory._malloc_trim() is None, reason="not glibc")
def test_freed_memory_kept_by_malloc_goes_back_to_the_system() -> None:
    # 4 KiB objects come from malloc's heap (not pymalloc, not mmap); one kept above them stops
    # free() from shrinking the heap by itself, as long-lived objects do in the daemon.
    blocks = [bytes(4096) for _ in range(8_000)]  # ~32 MiB
    pinned = bytes(4096)
    del blocks
    kept_kib = _rss_kib()
    assert memory.release()
    released_kib = _rss_kib()
    assert kept_kib - released_kib > 16 * 1024, (kept_kib, released_kib)
    assert len(pinned) == 4096


async def test_the_daemons_loop_releases_at_once_then_every_period(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[float, bool]] = []
    loop, three = asyncio.get_running_loop(), asyncio.Event()

    def release() -> bool:  # in the worker thread, not the loop's
        calls.append((time.monotonic(), threading.current_thread() is threading.main_thread()))
        if len(calls) == 3:
            loop.call_soon_threadsafe(three.set)
        return True

    monkeypatch.setattr(memory, "release", release)
    task = asyncio.create_task(memory.keep_released(every_s=0.05))
    try:
        async with asyncio.timeout(5):
            await three.wait()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    (first, in_main), (second, _), (third, _) = calls[:3]
    assert not in_main
    assert second - first >= 0.04 and third - second >= 0.04
