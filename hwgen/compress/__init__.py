"""Compression that the generated hardware cashes in (issue 13): channel pruning by LASSO
and least squares (:mod:`.channels`)."""
