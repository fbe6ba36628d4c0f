"""How results leave the engine: JSON shapes (serialize); run, comparison and dataset summaries built
once as blocks (blocks, run_summary, dataset_summary) and rendered as Markdown, HTML or terminal text
(markdown, html, text); the files written from them (export); and the inline SVG charts in them.

May import every other subpackage of core; nothing in core imports it.
"""
