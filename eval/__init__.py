"""Offline retrieval evaluation: labelled questions -> Recall@k, MRR@10, nDCG@10 per retriever."""
