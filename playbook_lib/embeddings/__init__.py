"""Core layer ``embeddings``: the sentence embedder (packaged all-MiniLM-L6-v2, loaded offline) and the one
embed-with-cache, keyed by embedder settings and content hash."""
