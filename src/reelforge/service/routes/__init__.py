"""Thin HTTP adapters: parse, call the store/executor/registry, present."""
