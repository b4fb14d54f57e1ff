"""Experiments: declared in settings, assigned by hashing (experiment, user), reported."""
