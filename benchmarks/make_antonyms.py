"""Write ``retrieval/text/antonyms.txt``: WordNet 3.0's single-word antonym pairs, with its licence.

    apt-get install wordnet-base                # Debian's WordNet 3.0 database, /usr/share/wordnet
    python benchmarks/make_antonyms.py [/usr/share/wordnet]

The antonym pointers ("!") of ``data.noun``, ``data.verb``, ``data.adj`` and ``data.adv`` link one word of
a synset to one of another ("complexity" / "simplicity", "open" / "closed"); pairs of multi-word
lemmas ("go_in") are left out. Read by ``retrieval/text/polarity.py`` (``opposed_word``). The file is
committed, so the bot needs neither WordNet nor this script.
"""

from __future__ import annotations

import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "retrieval" / "text" / "antonyms.txt"
POS = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}
LICENCE = """\
Antonym pairs from WordNet 3.0, one pair a line (benchmarks/make_antonyms.py).

WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.

Permission to use, copy, modify and distribute this software and database and its documentation for
any purpose and without fee or royalty is hereby granted, provided that you agree to comply with the
following copyright notice and statements, including the disclaimer, and that the same appear on ALL
copies of the software, database and documentation, including modifications that you make for
internal use or for distribution.

THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR
WARRANTIES, EXPRESS OR IMPLIED.  BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO
REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE
OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS,
COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS.

The name of Princeton University or Princeton may not be used in advertising or publicity pertaining
to distribution of the software and/or database.  Title to copyright in this software, database and
any associated documentation shall at all times remain with Princeton University and LICENSEE agrees
to preserve same.
"""


def antonym_pairs(root: Path) -> list[tuple[str, str]]:
    """Every antonym pair of single words, each pair once, sorted."""
    words: dict[tuple[str, str], list[str]] = {}
    pointers = []
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (root / f"data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):  # the licence at the top of each file
                continue
            f = line.split(" | ")[0].split()
            offset, count = f[0], int(f[3], 16)
            words[(pos, offset)] = [f[4 + 2 * i].lower().split("(")[0] for i in range(count)]
            k = 4 + 2 * count
            for _ in range(int(f[k])):
                symbol, target, target_pos, source_target = f[k + 1:k + 5]
                k += 4
                if symbol == "!":
                    pointers.append((pos, offset, int(source_target[:2], 16), POS[target_pos], target,
                                     int(source_target[2:], 16)))
    pairs = set()
    for pos, offset, source, target_pos, target, index in pointers:
        a, b = words[(pos, offset)][source - 1], words[(target_pos, target)][index - 1]
        if a != b and "_" not in a + b:
            pairs.add(tuple(sorted((a, b))))
    return sorted(pairs)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet")
    if not (root / "data.adj").is_file():
        sys.exit(f"no WordNet database in {root}: apt-get install wordnet-base, or name its folder")
    pairs = antonym_pairs(root)
    header = "".join(f"# {line}".rstrip() + "\n" for line in LICENCE.splitlines())
    OUT.write_text(header + "".join(f"{a} {b}\n" for a, b in pairs), encoding="utf-8")
    print(f"{len(pairs)} antonym pairs -> {OUT}")


if __name__ == "__main__":
    main()
