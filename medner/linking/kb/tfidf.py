"""Character n-gram TF-IDF and nearest-name search in numpy alone.

The linker ships inside pipelines that must install with spaCy and nothing
heavier, so its search cannot need scikit-learn or scipy at run time. This is
the part of scikit-learn's ``TfidfVectorizer(analyzer="char_wb", norm=None,
lowercase=False)`` the KB uses (same n-grams, same smoothed IDF, so KBs built
before stay valid), plus an inverted index over the L2-normalised name
matrix: a query touches only the names that share an n-gram with it.
"""
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

_WHITE_SPACES = re.compile(r"\s\s+")


def char_wb_ngrams(text: str, ngram_range: Tuple[int, int]) -> List[str]:
    """N-grams of each white-space-separated word padded with one space, as scikit-learn's ``char_wb``."""
    min_n, max_n = ngram_range
    grams: List[str] = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(min_n, max_n + 1):
            offset = 0
            grams.append(padded[offset:offset + n])
            while offset + n < length:
                offset += 1
                grams.append(padded[offset:offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


@dataclass
class SparseRows:
    """A CSR matrix as three arrays (rows of n-gram weights)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_columns: int

    @property
    def shape(self) -> Tuple[int, int]:
        return len(self.indptr) - 1, self.n_columns

    def row(self, i: int) -> Tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[i], self.indptr[i + 1]
        return self.indices[lo:hi], self.data[lo:hi]


class CharTfidf:
    """N-gram vocabulary and IDF weights: ``transform`` gives L2-normalised rows.

    The norm of a query counts the n-grams no KB name has, at the highest IDF,
    so "warfarin sodium" is not a perfect match for "warfarin" in a KB that
    has no "sodium".
    """

    def __init__(self, ngrams: Sequence[str], idf: np.ndarray, ngram_range: Tuple[int, int] = (3, 3)):
        self.ngrams = list(ngrams)
        self.vocabulary: Dict[str, int] = {gram: i for i, gram in enumerate(self.ngrams)}
        self.idf = np.asarray(idf, dtype=np.float32)
        self.ngram_range = tuple(ngram_range)
        self.unseen_weight = float(self.idf.max()) if len(self.idf) else 1.0

    @classmethod
    def fit(cls, texts: Sequence[str], ngram_range: Tuple[int, int] = (3, 3),
            idf_rows: Optional[Sequence[bool]] = None) -> Tuple["CharTfidf", SparseRows]:
        """Vocabulary (sorted, as scikit-learn), smoothed IDF ``ln((1+n)/(1+df)) + 1`` and the texts' rows.

        ``idf_rows``: which texts count in ``n`` and ``df`` (None: all); the others are still rows
        and their n-grams columns, so a large added vocabulary leaves the weights of the rest as they were.
        """
        counted = [_count(char_wb_ngrams(text, ngram_range)) for text in texts]
        ngrams = sorted({gram for counts in counted for gram in counts})
        index = {gram: i for i, gram in enumerate(ngrams)}
        df = np.zeros(len(ngrams), dtype=np.int64)
        n_counted = 0
        for row, counts in enumerate(counted):
            if idf_rows is None or idf_rows[row]:
                df[[index[g] for g in counts]] += 1
                n_counted += 1
        idf = np.log((1 + n_counted) / (1 + df)) + 1.0
        model = cls(ngrams, idf.astype(np.float32), ngram_range)
        return model, model._rows(counted, count_unseen=False)

    def transform(self, texts: Iterable[str]) -> SparseRows:
        return self._rows([_count(char_wb_ngrams(text, self.ngram_range)) for text in texts], count_unseen=True)

    def _rows(self, counted: List[Dict[str, int]], count_unseen: bool) -> SparseRows:
        data: List[np.ndarray] = []
        indices: List[np.ndarray] = []
        indptr = [0]
        for counts in counted:
            known = sorted((self.vocabulary[g], c) for g, c in counts.items() if g in self.vocabulary)
            columns = np.array([k for k, _ in known], dtype=np.int32)
            weights = np.array([c for _, c in known], dtype=np.float32) * self.idf[columns]
            unseen_sq = sum((c * self.unseen_weight) ** 2 for g, c in counts.items() if g not in self.vocabulary) if count_unseen else 0.0
            norm = float(np.sqrt(np.dot(weights, weights) + unseen_sq)) or 1.0
            data.append(weights / norm)
            indices.append(columns)
            indptr.append(indptr[-1] + len(columns))
        return SparseRows(
            np.concatenate(data).astype(np.float32) if data else np.zeros(0, np.float32),
            np.concatenate(indices).astype(np.int32) if indices else np.zeros(0, np.int32),
            np.asarray(indptr, dtype=np.int64), len(self.ngrams),
        )


class InvertedIndex:
    """Column-major view of a name matrix: for each n-gram, the names that have it and their weights."""

    def __init__(self, matrix: SparseRows):
        n_rows, n_columns = matrix.shape
        row_of_entry = np.repeat(np.arange(n_rows, dtype=np.int32), np.diff(matrix.indptr))
        order = np.argsort(matrix.indices, kind="stable")
        self.rows = row_of_entry[order]
        self.weights = matrix.data[order].astype(np.float32)
        self.column_ptr = np.concatenate([[0], np.cumsum(np.bincount(matrix.indices, minlength=n_columns))])
        self.n_rows = n_rows

    def scores(self, columns: np.ndarray, weights: np.ndarray, allowed: Optional[np.ndarray] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
        """Names sharing an n-gram with the query and their cosine (dot product) with it."""
        if len(columns) == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        starts, ends = self.column_ptr[columns], self.column_ptr[columns + 1]
        lengths = ends - starts
        positions = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        rows = self.rows[positions]
        values = self.weights[positions] * np.repeat(weights, lengths)
        if allowed is not None:
            keep = allowed[rows]
            rows, values = rows[keep], values[keep]
        # a dense accumulator is cheaper than sorting the (often ~20k) postings
        dense = np.bincount(rows, weights=values, minlength=self.n_rows)
        names = np.flatnonzero(dense)
        return names.astype(np.int32), dense[names].astype(np.float32)


def _count(grams: List[str]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for gram in grams:
        counts[gram] = counts.get(gram, 0) + 1
    return counts
