"""Fault injection for tests: a loopback proxy that drops, stalls and delays connections."""
