"""The shop of examples/shop.cluster: the programs its pods run."""
