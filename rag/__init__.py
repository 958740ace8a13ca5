"""iqa core: retrieval, prompting and answering over an ingested knowledge base."""
