"""The ``--cache`` file for one run: opened once, dropped on its first failure with one line.

The file is only a cache: a file that cannot be opened, or a lookup or store that
fails later, costs the file and nothing else. The run goes on with the in-memory
cache, and stderr says why in one line, once. ``store.py`` (and SQLite) is loaded
only by a run that has a file to open.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable

from linkfilter.cache import FAILURE_TTL
from linkfilter.result import Result
from linkfilter.settings import Settings


class CacheFile:
    """The run's ``--cache`` file, or none; ``say`` writes one line to stderr."""

    def __init__(self, settings: Settings, say: Callable[[str], None]) -> None:
        self._settings = settings
        self._say = say
        self._store = None
        self._reported = False
        self._lock = threading.Lock()  # guards _store and _reported

    def open(self) -> None:
        """Open the file, or say in one line why the run goes on without it."""
        settings = self._settings
        if not settings.cache_path or settings.cache_ttl <= 0 or settings.dry_run:
            return
        from linkfilter import store

        try:
            self._store = store.Store.open(
                settings.cache_path,
                ttl=settings.cache_ttl,
                failure_ttl=FAILURE_TTL,
                namespace=store.namespace(
                    max_bytes=settings.max_bytes,
                    max_title=settings.max_title,
                    accept_language=settings.accept_language,
                    user_agent=settings.user_agent,
                    allow_private=settings.allow_private,
                    prefer=settings.prefer,
                    oembed=settings.oembed,
                ),
            )
        except store.StoreError as e:
            self._failed(e)
            return
        if self._store.read_only:
            self._say(f"linkfilter: cache {settings.cache_path}: read-only; results will not be saved")

    def get_many(self, keys: list[str]) -> dict[str, Result]:
        """The fresh results the file holds for ``keys``."""
        store = self._store
        if store is None or not keys:
            return {}
        try:
            return store.get_many(keys)
        except Exception as e:  # noqa: BLE001 - any failure of the file costs the file only
            self._failed(e)
            return {}

    def put(self, key: str, result: Result) -> None:
        """Keep a result in the file, as the in-memory cache keeps it (a failure for the
        failure TTL); the reader thread never waits for another process's lock."""
        store = self._store
        if store is not None:
            try:
                store.put(key, result, wait=threading.current_thread() is not threading.main_thread())
            except Exception as e:  # noqa: BLE001 - see get_many
                self._failed(e)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def _failed(self, error: Exception) -> None:
        """Give up on the file for the rest of the run, saying so once."""
        with self._lock:
            failed, self._store = self._store, None
            first, self._reported = not self._reported, True
        if failed is not None:
            with contextlib.suppress(Exception):
                failed.close()
        if first:
            self._say(f"linkfilter: cache {self._settings.cache_path}: {error}; continuing without it")
