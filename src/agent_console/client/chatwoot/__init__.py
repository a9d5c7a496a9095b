"""The Chatwoot adapter: the same `Backend` protocol over Chatwoot's API and ActionCable feed."""

from agent_console.client.chatwoot.backend import ChatwootBackend

__all__ = ["ChatwootBackend"]
