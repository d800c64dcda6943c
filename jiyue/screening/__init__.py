"""Content screening: the operator's sensitive-word list and matching, near-duplicate detection."""
