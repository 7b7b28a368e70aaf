"""The control plane (being written)."""
__all__: list[str] = []
