"""Similarity detection among submissions (issue 13): tokens, winnowing, Greedy String Tiling.
Django-free; the storer's ``assay.storer.similarity`` runs it (docs/similarity.md)."""
