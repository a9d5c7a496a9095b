"""agent-console: a terminal console for 24/7 help desk agents."""

__version__ = "0.1.0"
