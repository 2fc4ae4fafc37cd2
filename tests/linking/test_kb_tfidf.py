"""The linker's numpy TF-IDF: scikit-learn's char_wb n-grams and weights, and an exact inverted-index search."""
import numpy as np
import pytest

from medner.linking.kb.tfidf import CharTfidf, InvertedIndex, char_wb_ngrams

NAMES = ["warfarin", "warfarin sodium", "breast cancer", "ovarian  cancer", "ace inhibitor", "a", "x y",
         "Parkinson's disease", "5-HT", "β-carotene"]


def dense(rows):
    out = np.zeros(rows.shape, dtype=np.float64)
    for i in range(rows.shape[0]):
        columns, values = rows.row(i)
        out[i, columns] = values
    return out


def test_char_wb_ngrams_pad_each_word_and_count_short_words_once():
    assert char_wb_ngrams("ab  cde", (3, 3)) == [" ab", "ab ", " cd", "cde", "de "]
    assert char_wb_ngrams("a", (3, 3)) == [" a "]
    assert char_wb_ngrams("", (3, 3)) == []


def test_same_vocabulary_idf_and_rows_as_scikit_learn():
    from sklearn.feature_extraction.text import TfidfVectorizer  # the test extra's scikit-learn (medner[assertion])
    from sklearn.preprocessing import normalize

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), dtype=np.float32,
                                              lowercase=False, norm=None)
    expected = normalize(vectorizer.fit_transform(NAMES).astype(np.float32)).toarray()
    model, rows = CharTfidf.fit(NAMES)
    assert model.ngrams == sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    np.testing.assert_allclose(model.idf, vectorizer.idf_, rtol=1e-6)
    np.testing.assert_allclose(dense(rows), expected, atol=1e-6)


def test_index_scores_equal_the_dense_product_and_touch_only_sharing_names():
    model, rows = CharTfidf.fit(NAMES)
    index = InvertedIndex(rows)
    queries = model.transform(["warfarin sodium tablets", "cancer", "zzz", ""])
    for i in range(queries.shape[0]):
        columns, weights = queries.row(i)
        names, scores = index.scores(columns, weights)
        full = dense(rows) @ np.bincount(columns, weights=weights, minlength=len(model.ngrams))
        assert list(names) == list(np.flatnonzero(full > 0))
        np.testing.assert_allclose(scores, full[names], atol=1e-6)
    allowed = np.zeros(len(NAMES), dtype=bool)
    allowed[NAMES.index("breast cancer")] = True
    names, _ = index.scores(*queries.row(1), allowed=allowed)
    assert [NAMES[n] for n in names] == ["breast cancer"]


def test_unknown_ngrams_lower_the_score_of_a_partial_match():
    model, rows = CharTfidf.fit(["warfarin"])
    index = InvertedIndex(rows)
    exact = index.scores(*model.transform(["warfarin"]).row(0))[1][0]
    partial = index.scores(*model.transform(["warfarin sodium"]).row(0))[1][0]
    assert exact == pytest.approx(1.0, abs=1e-6) and partial < 0.8
