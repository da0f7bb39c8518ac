"""Code half: discover files, parse them with libcst, run every code rule in one traversal."""
