"""Reproductions of published experiments, vectorised with numpy; randomness from an injected Generator."""
