import os

# python-telegram-bot 22 warns when it builds RetryAfter without this opt-in to its future
# timedelta API; warnings are errors in our test runs.
os.environ.setdefault("PTB_TIMEDELTA", "1")
