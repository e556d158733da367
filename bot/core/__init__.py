"""The core: config, clock, i18n, logging, errors, the messaging port, the callback registry."""
