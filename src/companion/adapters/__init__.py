"""The outside world behind small ports: chat models, password hashing, and more."""
