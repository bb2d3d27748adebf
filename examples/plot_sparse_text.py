"""
============================================
Sparse text classification with a vectorizer
============================================

Text turns into very wide, very sparse matrices. ``SGDLogitClassifier`` trains on the
CSR matrix a vectorizer returns without densifying it: an update costs the number of
nonzeros of its batch, not the number of columns. Here a generated corpus of short
"reviews" is classified as positive or negative by a
:class:`~sklearn.feature_extraction.text.TfidfVectorizer` + ``SGDLogitClassifier``
pipeline, in float32 end to end.
"""

# %%
# A generated corpus
# ------------------
# Every document draws words from a shared vocabulary, with a few sentiment words whose
# frequencies depend on the label, and 10% of the labels flipped.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sgdlogit import SGDLogitClassifier

rng = np.random.default_rng(0)
neutral = [f"word{i}" for i in range(2000)]
positive = ["great", "excellent", "love", "wonderful", "best", "enjoyed", "perfect"]
negative = ["awful", "boring", "worst", "hate", "poor", "waste", "disappointing"]


def document(label):
    """A document of 15-40 words; sentiment words lean towards ``label``."""
    n_words = rng.integers(15, 40)
    words = list(rng.choice(neutral, size=n_words, p=None))
    leaning, other = (positive, negative) if label else (negative, positive)
    words += list(rng.choice(leaning, size=rng.integers(1, 4)))
    words += list(rng.choice(other, size=rng.integers(0, 2)))
    rng.shuffle(words)
    return " ".join(words)


labels = rng.integers(0, 2, size=4000)
corpus = [document(label) for label in labels]
labels = np.where(rng.random(labels.shape[0]) < 0.1, 1 - labels, labels)
print(corpus[0][:100], "...")

docs_train, docs_test, y_train, y_test = train_test_split(
    corpus, labels, test_size=0.25, random_state=0
)

# %%
# The pipeline
# ------------
# ``TfidfVectorizer(dtype=np.float32)`` returns a float32 CSR matrix, and the model
# keeps float32 (its ``coef_`` too), which halves the memory of wide models.
alpha = 3e-4
model = make_pipeline(
    TfidfVectorizer(dtype=np.float32), SGDLogitClassifier(alpha=alpha, random_state=0)
)
model.fit(docs_train, y_train)
X_train = model[0].transform(docs_train)
print(
    f"{X_train.shape[1]} columns, {X_train.nnz / X_train.shape[0]:.0f} nonzeros per row, "
    f"{X_train.dtype}; coef_ dtype: {model[-1].coef_.dtype}"
)
print(f"test accuracy: {model.score(docs_test, y_test):.3f}")

# the same regularization for LogisticRegression: C = 1 / (alpha * n_samples)
C = 1.0 / (alpha * len(docs_train))
reference = make_pipeline(TfidfVectorizer(), LogisticRegression(C=C, max_iter=1000))
print(
    "LogisticRegression test accuracy: "
    f"{reference.fit(docs_train, y_train).score(docs_test, y_test):.3f}"
)

# %%
# What the model learned
# ----------------------
# The largest coefficients in absolute value belong to the sentiment words.
vocabulary = model[0].get_feature_names_out()
coef = model[-1].coef_.ravel()
top = np.argsort(np.abs(coef))[-16:]
fig, ax = plt.subplots(figsize=(6, 4.5))
ax.barh(vocabulary[top], coef[top], color=np.where(coef[top] > 0, "tab:blue", "tab:red"))
ax.set_xlabel("coefficient")
ax.set_title("largest coefficients")
fig.tight_layout()
