import os

from hypothesis import settings

# python-telegram-bot 22 warns when it builds RetryAfter without this opt-in to its future
# timedelta API; warnings are errors in our test runs.
os.environ.setdefault("PTB_TIMEDELTA", "1")

# Property-based tests draw the same examples on every run (a failure in CI fails on every
# machine), keep no example database in the tree and have no per-example deadline (the
# end-to-end ones wait on a real server). HYPOTHESIS_PROFILE=explore draws fresh ones.
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
