"""The shop's one-off migration job (``python -m shop.migrate``)."""

if __name__ == "__main__":
    print("migrating the shop's schema: nothing to do", flush=True)
