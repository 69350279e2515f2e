"""Engines: one folder per upstream training package, the only code that imports or patches it."""
