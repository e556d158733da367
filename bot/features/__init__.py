"""The features: the use cases, each a service over the bundle of bot/features/deps.py."""
