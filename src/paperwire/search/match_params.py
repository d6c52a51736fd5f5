"""Fitted parameters of paperwire.search.match, written by ``bench/alerts.py --fit`` from the
SciFact train queries and the plain-language train split (never the test splits). Refit, do not
edit: the bars are chosen on this model's probabilities.

normal: the bar with the best train F1 (mean over the two collections); broad: the best F2 (recall
counted twice) at or below it; strict: the lowest bar where each collection's train precision
reaches 0.85.
"""

INTERCEPT = -5.371475505010991
COEF = (8.87909960807258, 2.9825659978102794, -0.8790769538569494)  # cosine, coverage, log(rank)
LEXICAL_INTERCEPT = -2.0030575281439233  # papers without an embedding yet: words only
LEXICAL_COEF = (4.19650825105423, -1.2780944627664947)  # coverage, log(rank)
THRESHOLDS = {"broad": 0.285, "normal": 0.34, "strict": 0.685}
