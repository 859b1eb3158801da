"""A fitted binary HashingVectorizer's transform, for all the texts of a page at once.

It gives the CSR matrix the vectorizer gives, bit for bit: the same n-grams, the same columns
(|MurmurHash3_x86_32 of the UTF-8 bytes, seed 0| mod n_features, as FeatureHasher), rows sorted and
L2-normalised as sklearn.preprocessing.normalize leaves them. What differs is the work: each distinct
word and n-gram of a call is hashed once, and char_wb n-grams are cut and hashed with numpy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_TAIL_MASK = np.array([0, 0xFF, 0xFFFF, 0xFFFFFF], dtype=np.uint32)


class HashedText:
    """A fitted HashingVectorizer (word or char_wb analyzer, binary, no alternate sign) as a function
    of a list of documents to its matrix."""

    def __init__(self, vec: HashingVectorizer) -> None:
        self.n_features = int(vec.n_features)
        self.dtype = vec.dtype
        self.lowercase = bool(vec.lowercase)
        self.norm = vec.norm
        self.ngram_range = (int(vec.ngram_range[0]), int(vec.ngram_range[1]))
        self.analyzer = vec.analyzer
        self.tokenize = re.compile(vec.token_pattern).findall if vec.analyzer == "word" else None
        if vec.token_pattern == r"\S+":  # runs of non-whitespace: str.split finds the same, faster
            self.tokenize = str.split

    @staticmethod
    def supports(vec: object) -> bool:
        if type(vec) is not HashingVectorizer or vec.analyzer not in ("word", "char_wb"):
            return False
        if vec.analyzer == "word" and _groups(vec.token_pattern) > 1:
            return False
        return (
            vec.input == "content"
            and vec.preprocessor is None
            and vec.tokenizer is None
            and vec.stop_words is None
            and not vec.strip_accents
            and vec.binary
            and not vec.alternate_sign
            and vec.norm in ("l2", None)
            and 1 <= vec.ngram_range[0] <= vec.ngram_range[1]
        )

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        rows, cols, values = self.cells(docs)
        counts = np.bincount(rows, minlength=len(docs))
        indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
        return sp.csr_matrix((values, cols.astype(np.int32), indptr), shape=(len(docs), self.n_features))

    def cells(self, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The matrix's stored cells: row, column and value of each, in CSR order (by row, then column)."""
        docs = [d.lower() for d in docs] if self.lowercase else list(docs)
        if self.analyzer == "word":
            rows, cols = self._word_cells(docs)
        else:
            rows, cols = self._char_wb_cells(docs)
        return self._binary_cells(rows, cols, len(docs))

    def _word_cells(self, docs: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(document, column) of every word n-gram of every document."""
        grams = [self._word_grams(d) for d in docs]
        distinct = list(set().union(*grams))
        column = dict(zip(distinct, hash_strings(distinct, self.n_features).tolist(), strict=True))
        lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        cols = np.fromiter(
            map(column.__getitem__, chain.from_iterable(grams)), dtype=np.int64, count=int(lengths.sum())
        )
        return np.repeat(np.arange(len(docs)), lengths), cols

    def _word_grams(self, doc: str) -> list[str]:
        """The n-grams of the word analyzer (their order and repeats do not matter to a binary row)."""
        tokens = self.tokenize(doc)
        lo, hi = self.ngram_range
        grams = list(tokens) if lo == 1 else []
        for n in range(max(lo, 2), min(hi, len(tokens)) + 1):
            grams += map(" ".join, zip(*(tokens[i:] for i in range(n)), strict=False))
        return grams

    def _char_wb_cells(self, docs: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(document, column) of every char_wb n-gram of every document, each distinct word cut once."""
        # The analyzer collapses runs of whitespace (re's \s) before str.split(): the same characters
        # (tests check every code point), so splitting alone gives the same words.
        words = [d.split() for d in docs]
        distinct = list(set().union(*words))
        word_id = dict(zip(distinct, range(len(distinct)), strict=True))
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        occurrences = np.fromiter(
            map(word_id.__getitem__, chain.from_iterable(words)), dtype=np.int64, count=int(lengths.sum())
        )
        # Each (document, word) once, then each word's distinct columns.
        doc, word = _distinct_pairs(np.repeat(np.arange(len(docs)), lengths), occurrences, len(distinct))
        gram_word, gram_col = char_wb_columns(distinct, self.ngram_range, self.n_features)
        by_word, cols = _distinct_pairs(gram_word, gram_col, self.n_features)
        count = np.bincount(by_word, minlength=len(distinct))
        first = np.cumsum(count) - count
        # Every (document, word) pair stands for the word's columns.
        take = count[word]
        ends = np.cumsum(take)
        at = np.repeat(first[word] - (ends - take), take) + np.arange(int(ends[-1]) if len(ends) else 0)
        return np.repeat(doc, take), cols[at]

    def _binary_cells(
        self, rows: np.ndarray, cols: np.ndarray, n_rows: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """1 at every (row, column) given, repeats counted once; rows L2-normalised as sklearn does
        (each value float32(1 / sqrt(nnz)), the division done in double)."""
        row, col = _distinct_pairs(rows, cols, self.n_features)
        counts = np.bincount(row, minlength=n_rows)
        values = np.ones(n_rows)
        if self.norm == "l2":
            values = values / np.sqrt(np.maximum(counts, 1).astype(np.float64))
        return row, col, np.repeat(values.astype(self.dtype), counts)


def _groups(pattern: object) -> int:
    """Capturing groups of a token pattern (2, not handled, for anything that is not one)."""
    try:
        return re.compile(pattern).groups if isinstance(pattern, str) else 2
    except re.error:
        return 2


def hash_strings(strings: list[str], n_features: int) -> np.ndarray:
    """FeatureHasher's column of each string."""
    hashes = np.fromiter(map(murmurhash3_32, strings), dtype=np.int64, count=len(strings))
    return np.abs(hashes) % n_features


def char_wb_columns(
    words: list[str], ngram_range: tuple[int, int], n_features: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per char_wb n-gram of each word (padded with a space on both sides): the word's index and the
    n-gram's column. A padded word shorter than the smallest n is one n-gram, as in sklearn."""
    if not words:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo, hi = ngram_range
    text = " " + "  ".join(words) + " "  # padded words back to back
    sizes = np.fromiter(map(len, words), dtype=np.int64, count=len(words)) + 2
    ends = np.cumsum(sizes)
    starts = ends - sizes
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    utf8_len = 1 + (points >= 0x80).astype(np.int64) + (points >= 0x800) + (points >= 0x10000)
    byte_at = np.concatenate(([0], np.cumsum(utf8_len)))
    utf8 = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    word_of = np.repeat(np.arange(len(words)), sizes)
    end_of = np.repeat(ends, sizes)
    at = np.arange(len(points))
    first, last, owner = [], [], []
    for n in range(lo, hi + 1):
        fits = at + n <= end_of
        first.append(at[fits])
        last.append(at[fits] + n)
        owner.append(word_of[fits])
    short = sizes < lo
    first += [starts[short]]
    last += [ends[short]]
    owner += [np.flatnonzero(short)]
    begin = byte_at[np.concatenate(first)]
    nbytes = byte_at[np.concatenate(last)] - begin
    hashes = murmur3_32(utf8, begin, nbytes)
    return np.concatenate(owner), np.abs(hashes.astype(np.int64)) % n_features


def murmur3_32(data: np.ndarray, begin: np.ndarray, nbytes: np.ndarray) -> np.ndarray:
    """MurmurHash3_x86_32 with seed 0 of the byte strings data[begin : begin + nbytes], as signed ints
    (sklearn's murmurhash3_32 of the same bytes)."""
    padded = np.concatenate((data, np.zeros(4, dtype=np.uint8))).astype(np.uint32)
    # word_at[i]: the little-endian 32-bit word of the bytes i .. i + 3 (zeros past the end)
    word_at = (
        padded[:-3]
        | padded[1:-2] << np.uint32(8)
        | padded[2:-1] << np.uint32(16)
        | padded[3:] << np.uint32(24)
    )
    full = nbytes >> 2
    h = np.zeros(len(nbytes), dtype=np.uint32)
    last = len(word_at) - 1
    for j in range(int(full.max(initial=0))):
        k = _rotl(word_at[np.minimum(begin + 4 * j, last)] * _C1, 15) * _C2
        np.copyto(h, _rotl(h ^ k, 13) * np.uint32(5) + np.uint32(0xE6546B64), where=j < full)
    # The tail: the last len % 4 bytes, little-endian; a key with no tail adds nothing (0 stays 0).
    tail = word_at[begin + 4 * full] & _TAIL_MASK[nbytes & 3]
    h ^= _rotl(tail * _C1, 15) * _C2
    h ^= nbytes.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h.view(np.int32)


def _distinct_pairs(major: np.ndarray, minor: np.ndarray, n_minor: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (major, minor) pairs (0 <= minor < n_minor), sorted by major, then minor."""
    bits = max(1, (n_minor - 1).bit_length())
    keys = _distinct((major.astype(np.int64) << bits) | minor)
    return keys >> bits, keys & ((1 << bits) - 1)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values (np.unique, many times faster on small integer arrays)."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))
