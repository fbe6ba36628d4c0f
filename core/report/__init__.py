"""How results leave the engine: JSON shapes (serialize), run, comparison and dataset summaries as
Markdown and HTML (export), and the inline SVG charts in them.

May import every other subpackage of core; nothing in core imports it.
"""
