"""The app's pages: data, train, cold-start, compare (one module each, built on demand)."""
