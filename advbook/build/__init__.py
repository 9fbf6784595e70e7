"""Machinery that builds the book: chapters, decks, handouts, site, the command line.

Nothing here is part of the reader's API; no teaching module imports it.
"""
