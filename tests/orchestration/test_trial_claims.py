"""The trial budget across machines: a PostgreSQL advisory lock that workers anywhere wait
for, and that a dead worker cannot keep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from mastery.search.study import DatabaseClaim

HOLD = textwrap.dedent("""
    import sys, time
    from mastery.search.study import DatabaseClaim
    claim = DatabaseClaim(sys.argv[1], "study-a")
    claim.acquire()
    print("held", flush=True)
    time.sleep(120)
""")


def test_a_claim_is_exclusive_across_processes_and_freed_when_its_holder_dies(postgres_urls):
    url = postgres_urls["optuna"]
    holder = subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    assert holder.stdout.readline().strip() == "held"

    waiting = DatabaseClaim(url, "study-a")
    other_study = DatabaseClaim(url, "study-b")
    other_study.acquire()  # another study's workers are not held up
    other_study.close()

    started = time.monotonic()
    os.killpg(holder.pid, signal.SIGKILL)  # the worker dies holding the claim
    holder.wait()
    waiting.acquire()  # PostgreSQL dropped the dead session's lock
    assert time.monotonic() - started < 10
    waiting.close()
