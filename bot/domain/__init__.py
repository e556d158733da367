"""The domain: entities with their rules, no storage, no channel."""
