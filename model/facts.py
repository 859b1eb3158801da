"""Counting appeal signals in text: amounts, bank details, call-to-action labels, appeal words and phrases.

``texts_facts`` gives, for all the texts of a page at once, exactly what ``text_facts`` gives text by text:
the texts are joined by a separator no pattern can match or step over, each pattern runs once over the
whole, and every match is counted for the text it starts in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from model import signals

SEP = "\x00"  # never in a page's text (model.parse drops it), matched by no pattern below but BIC's \W
HEAD_LIMIT = 2000  # words and phrases are counted in the first characters of a text
CTA_STRIP = " !.»›→>–-:·"
_CTA = frozenset(signals.CALL_TO_ACTION)
_WORD_CHARS = r"[\w'’-]"
_WORD = re.compile(r"\w[\w'’-]*", re.UNICODE)
_PLAIN_WORD = re.compile(r"\w+")


def trie_pattern(words: Iterable[str]) -> str:
    """A regex matching, at a position, the longest of the words that starts there (as an alternation
    of the words sorted longest first does), but branching on one character at a time."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _node_pattern(trie)


def _node_pattern(node: dict) -> str:
    ends = "" in node
    branches = []
    for ch in sorted(k for k in node if k):
        child, run = node[ch], re.escape(ch)
        while len(child) == 1 and "" not in child:  # a chain of single children is one literal
            (ch,) = child
            child, run = child[ch], run + re.escape(ch)
        branches.append(run + _node_pattern(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    if ends:  # the longer words first, this one if none of them matches
        return f"(?:{body})?" if len(branches) == 1 else f"{body}?"
    return body


# Non-overlapping appeal phrases, the longest at each position (the plain alternation, longest first).
PHRASES = re.compile("|".join(re.escape(p) for p in sorted(signals.APPEAL_PHRASES, key=len, reverse=True)))
_PHRASES_TRIE = re.compile(trie_pattern(signals.APPEAL_PHRASES))
# A word as _WORD finds it (a run of word characters, apostrophes and hyphens, from its first word
# character) that is an appeal word.
_APPEAL_WORD = re.compile(
    rf"(?<!{_WORD_CHARS})['’-]*(?:{trie_pattern(w for w in signals.APPEAL_WORDS if _WORD.fullmatch(w))})"
    rf"(?!{_WORD_CHARS})"
)
# Necessary for a match, and quick to scan for (a leading character class, no IGNORECASE): texts
# without them need no IBAN or BIC search. BIC_CASES: what each letter of a label matches under
# re.IGNORECASE (tests check it against re).
BIC_CASES = {"b": "bB", "i": "iIİı", "c": "cC", "s": "sSſ", "w": "wW", "f": "fF", "t": "tT"}
_IBAN_HINT = re.compile(r"[A-Z]{2}\d\d")
_BIC_HINT = re.compile("[{b}{s}](?:[{i}][{c}]|[{w}][{i}][{f}][{t}])".format(**BIC_CASES))
# An amount holds a digit at most AMOUNT_REACH characters from either end (a currency word and a space
# before it, or a space and a currency word after it): amounts are only sought around digits.
AMOUNT_REACH = 8
_DIGITS = re.compile(r"\d+")


def phrase_hits(lower: str) -> int:
    """How many appeal phrases a lowercase text holds (non-overlapping)."""
    return len(PHRASES.findall(lower))


def text_facts(text: str) -> tuple[int, int, int, int]:
    """Counts of amounts, bank details, call-to-action labels and appeal words and phrases in a text."""
    lower = text.lower()
    amounts = len(signals.AMOUNT.findall(text))
    bank = len(signals.IBAN.findall(text)) + len(signals.BIC.findall(text))
    stripped = lower.strip(CTA_STRIP)
    cta = 1 if len(stripped) <= 40 and stripped in _CTA else 0
    words = _WORD.findall(lower[:HEAD_LIMIT])
    appeal = sum(1 for w in words if w in signals.APPEAL_WORDS) + phrase_hits(lower[:HEAD_LIMIT])
    return amounts, bank, cta, appeal


def voice_counts(texts: Sequence[str]) -> tuple[list[int], list[int]]:
    """Per text: how many of the words in its first HEAD_LIMIT characters are ``signals.VOICE_WORDS``,
    and how many words those characters hold (runs of word characters: "we're" is "we" and "re")."""
    hits, words = [], []
    for text in texts:
        found = _PLAIN_WORD.findall(text.lower()[:HEAD_LIMIT])
        words.append(len(found))
        hits.append(sum(1 for w in found if w in signals.VOICE_WORDS))
    return hits, words


def texts_facts(texts: Sequence[str]) -> np.ndarray:
    """``text_facts`` of every text, one row each (int64), with each pattern run once over all the texts."""
    n = len(texts)
    if n == 0:
        return np.zeros((0, 4), dtype=np.int64)
    joined = SEP.join(texts)
    if joined.count(SEP) != n - 1:  # a text holds the separator itself
        return np.array([text_facts(t) for t in texts], dtype=np.int64)
    starts = _starts(texts)
    amounts = _count_amounts(joined, starts)
    bank = np.zeros(n, dtype=np.int64)
    for i in _holding(_IBAN_HINT, joined, starts):
        bank[i] += len(signals.IBAN.findall(texts[i]))
    for i in _holding(_BIC_HINT, joined, starts):  # BIC's \W{0,3} could step over a separator
        bank[i] += len(signals.BIC.findall(texts[i]))
    lowers = [t.lower() for t in texts]
    cta = [_cta(lower) for lower in lowers]
    heads = [lower[:HEAD_LIMIT] for lower in lowers]
    joined, starts = SEP.join(heads), _starts(heads)
    appeal = _count(_APPEAL_WORD, joined, starts) + _count(_PHRASES_TRIE, joined, starts)
    return np.column_stack([amounts, bank, cta, appeal]).astype(np.int64)


def _cta(lower: str) -> int:
    stripped = lower.strip(CTA_STRIP)
    return 1 if len(stripped) <= 40 and stripped in _CTA else 0


def _starts(texts: Sequence[str]) -> np.ndarray:
    """Where each text starts in ``SEP.join(texts)``."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1
    return np.concatenate(([0], np.cumsum(lengths)[:-1]))


def _holding(pattern: re.Pattern, joined: str, starts: np.ndarray) -> list[int]:
    """The texts in which a pattern matches."""
    found = [m.start() for m in pattern.finditer(joined)]
    return sorted(set((np.searchsorted(starts, found, "right") - 1).tolist()))


def _count_amounts(joined: str, starts: np.ndarray) -> np.ndarray:
    """AMOUNT matches per text, sought only in stretches around runs of digits.

    Every match lies inside one stretch, and a stretch is scanned exactly as the whole string would be
    there (AMOUNT has no anchors or lookarounds), so this finds the same matches as one findall."""
    found: list[int] = []
    lo = hi = -1
    for m in _DIGITS.finditer(joined):
        a, b = m.start() - AMOUNT_REACH, m.end() + AMOUNT_REACH
        if a > hi:
            if hi >= 0:
                found += [x.start() for x in signals.AMOUNT.finditer(joined, lo, hi)]
            lo = max(0, a)
        hi = b
    if hi >= 0:
        found += [x.start() for x in signals.AMOUNT.finditer(joined, lo, hi)]
    return np.bincount(np.searchsorted(starts, found, "right") - 1, minlength=len(starts)).astype(np.int64)


def _count(pattern: re.Pattern, joined: str, starts: np.ndarray) -> np.ndarray:
    """Matches of a pattern in the joined texts, per text (by where each match starts)."""
    found = [m.start() for m in pattern.finditer(joined)]
    return np.bincount(np.searchsorted(starts, found, "right") - 1, minlength=len(starts)).astype(np.int64)
