"""An emulated Chatwoot (HTTP + ActionCable) judged by Chatwoot's published OpenAPI document."""
