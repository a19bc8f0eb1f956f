"""The --cache file for one run: opened once, dropped on its first failure with one line."""

from __future__ import annotations

import os
import sqlite3
import stat

from linkfilter.cachefile import CacheFile
from linkfilter.result import Result
from linkfilter.settings import Settings

PAGE = Result(url="http://a.example/", line=1, host="a.example", status=200, title="A")
KEY = "http://a.example/"


def opened(path, **options) -> tuple[CacheFile, list[str]]:
    said: list[str] = []
    cache_file = CacheFile(Settings(cache_path=str(path), **options), said.append)
    cache_file.open()
    return cache_file, said


def open_files(path) -> list[str]:
    """This process's descriptors open on ``path`` or the files SQLite keeps beside it."""
    names = {str(path), f"{path}-wal", f"{path}-shm"}
    fds = "/proc/self/fd"
    return [fd for fd in os.listdir(fds) if os.path.realpath(os.path.join(fds, fd)) in names]


def test_a_result_put_is_found_by_the_next_run(tmp_path):
    first, said = opened(tmp_path / "c.db")
    first.put(KEY, PAGE)
    first.close()
    second, said_again = opened(tmp_path / "c.db")
    assert second.get_many([KEY, "http://b.example/"])[KEY].title == "A"
    second.close()
    assert said == said_again == []


def test_a_file_that_is_not_ours_costs_one_line_and_the_run_goes_on(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"my notes, not a cache\n" * 10)
    cache_file, said = opened(path)
    cache_file.put(KEY, PAGE)
    assert cache_file.get_many([KEY]) == {}
    assert len(said) == 1 and said[0].startswith(f"linkfilter: cache {path}: ")
    assert said[0].endswith("; continuing without it")
    assert path.read_bytes() == b"my notes, not a cache\n" * 10


def test_a_file_that_fails_later_is_dropped_with_one_line(tmp_path):
    path = tmp_path / "c.db"
    cache_file, said = opened(path)
    cache_file.put(KEY, PAGE)
    assert open_files(path)
    other = sqlite3.connect(path)  # another program changes the file under the run
    other.execute("DROP TABLE results")
    other.commit()
    other.close()
    assert cache_file.get_many([KEY]) == {}
    assert not open_files(path)  # dropped: closed, never asked again
    cache_file.put(KEY, PAGE)
    assert cache_file.get_many([KEY]) == {}
    cache_file.close()
    assert len(said) == 1 and said[0].endswith("; continuing without it"), said


def test_a_read_only_file_answers_and_says_so_once(tmp_path):
    path = tmp_path / "c.db"
    writer, _ = opened(path)
    writer.put(KEY, PAGE)
    writer.close()
    os.chmod(path, stat.S_IRUSR)
    cache_file, said = opened(path)
    cache_file.put("http://b.example/", PAGE)
    assert list(cache_file.get_many([KEY, "http://b.example/"])) == [KEY]
    cache_file.close()
    assert said == [f"linkfilter: cache {path}: read-only; results will not be saved"]


def test_no_file_is_opened_without_a_path_a_ttl_or_under_a_dry_run(tmp_path):
    for options in ({"cache_ttl": 0}, {"dry_run": True}):
        cache_file, said = opened(tmp_path / "c.db", **options)
        cache_file.put(KEY, PAGE)
        assert cache_file.get_many([KEY]) == {} and said == []
    assert not (tmp_path / "c.db").exists()
    nothing = CacheFile(Settings(), [].append)
    nothing.open()
    assert nothing.get_many([KEY]) == {}
    nothing.close()
