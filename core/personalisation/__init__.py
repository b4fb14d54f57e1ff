"""Per-user relevance: online logistic regression learned from what each trader does."""
