"""SPARQL queries: checking their text, planning and evaluating them, writing results."""
