"""Pending: the reader never waits below max_pending; per-host cap; hosts take turns."""

import threading

from linkfilter.pending import Pending


def take_all(pending, count):
    return [pending.get() for _ in range(count)]


def test_put_never_waits_below_max_pending_and_waits_at_it():
    pending = Pending(max_pending=3, per_host=1)
    for i in range(3):
        pending.put("a", i)
    blocked = threading.Event()
    returned = threading.Event()

    def fourth():
        blocked.set()
        pending.put("a", 3)
        returned.set()

    t = threading.Thread(target=fourth, daemon=True)
    t.start()
    blocked.wait(5)
    assert not returned.wait(0.3)  # a full list pauses the reader...
    assert pending.get() == ("a", 0)
    assert returned.wait(5)  # ...and a job taken lets it go on
    t.join(5)


def test_at_most_per_host_jobs_of_one_host_run_and_others_flow():
    pending = Pending(max_pending=1000, per_host=2)
    for i in range(10):
        pending.put("slow", i)
    pending.put("other", "x")
    taken = take_all(pending, 3)
    assert [h for h, _ in taken].count("slow") == 2
    assert ("other", "x") in taken
    with_room = threading.Event()

    def next_job():
        got.append(pending.get())
        with_room.set()

    got = []
    threading.Thread(target=next_job, daemon=True).start()
    assert not with_room.wait(0.3)  # both "slow" slots are busy: nothing to take
    pending.done("slow")
    assert with_room.wait(5) and got == [("slow", 2)]


def test_hosts_take_turns():
    pending = Pending(max_pending=1000, per_host=100)
    for i in range(3):
        pending.put("a", i)
    for i in range(3):
        pending.put("b", i)
    assert [h for h, _ in take_all(pending, 6)] == ["a", "b", "a", "b", "a", "b"]


def test_join_waits_for_done_and_close_wakes_takers():
    pending = Pending(max_pending=10, per_host=4)
    pending.put("a", 1)
    host, _ = pending.get()
    joined = threading.Event()
    threading.Thread(target=lambda: (pending.join(), joined.set()), daemon=True).start()
    assert not joined.wait(0.3)
    pending.done(host)
    assert joined.wait(5)
    ended = []
    t = threading.Thread(target=lambda: ended.append(pending.get()), daemon=True)
    t.start()
    pending.close()
    t.join(5)
    assert ended == [None]


def test_put_says_when_no_worker_is_free():
    pending = Pending(max_pending=10, per_host=4)
    assert pending.put("a", 1)  # nobody is waiting for a job
    got = []
    t = threading.Thread(target=lambda: got.append(pending.get()), daemon=True)
    t.start()
    t.join(5)
    waiting = threading.Thread(target=lambda: got.append(pending.get()), daemon=True)
    waiting.start()
    for _ in range(1000):  # until the taker is inside get()
        if pending._takers:  # workers blocked in get()
            break
        threading.Event().wait(0.005)
    assert pending._takers == 1
    assert not pending.put("b", 2)  # the waiting worker takes it
    waiting.join(5)
    assert got[-1] == ("b", 2)


def test_a_burst_to_one_host_asks_for_per_host_workers_not_one_per_job():
    pending = Pending(max_pending=1000, per_host=3)
    asked = [pending.put("a", i) for i in range(20)]
    assert asked == [True] * 3 + [False] * 17  # three can run at once: three workers
    assert [pending.put("b", i) for i in range(5)] == [True] * 3 + [False] * 2
    host, _ = pending.get()  # an asked-for worker starts on a job: no new one is needed
    assert not pending.put("a", 20)
    pending.done(host)  # that worker is free again: it will take the next job
    assert not pending.put("a", 21)
