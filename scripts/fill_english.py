"""Fill empty English translations with their msgid.

English is the source language of the code, so a new msgid *is* its English text; the
en catalog exists so that English wording can be polished without touching code.
Run by `make update` after `pybabel update`. Never overwrites an existing translation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOG = Path("locales/en/LC_MESSAGES/messages.po")


def main() -> int:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    filled = 0
    for message in catalog:
        if not message.id or (message.string and all(message.string)):
            continue
        message.string = message.id
        message.flags.discard("fuzzy")
        filled += 1
    with CATALOG.open("wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False, include_previous=False)
    print(f"en: filled {filled} new messages from their source text")
    return 0


if __name__ == "__main__":
    sys.exit(main())
