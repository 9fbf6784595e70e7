# Sphinx configuration of the reader's site; advbook/site.py copies this
# file next to the preprocessed notebooks and runs sphinx-build on them.
project = "advbook"
author = "the advbook authors"
html_title = "advbook: adversarial examples, runnable"

extensions = ["myst_nb"]
# The notebooks arrive executed by `make book`: show those outputs, never
# run the chapters a second time.
nb_execution_mode = "off"
# Log chatter (TensorFlow, CUDA probes) is for the build log, not the book.
nb_output_stderr = "remove"
myst_enable_extensions = ["dollarmath", "amsmath"]
# The chapters put $$...$$ inside paragraphs, as Jupyter allows.
myst_dmath_double_inline = True
# myst would add a MathJax 3 `window.MathJax` object, which MathJax 2 takes
# for its whole configuration; the tex2jax settings below do its job.
myst_update_mathjax = False
exclude_patterns = ["_build", "extra"]

# MathJax 2.7 from npm, copied into _static/mathjax/ by advbook/site.py:
# Sphinx's default would be a CDN, and offline readers would see raw LaTeX.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
mathjax2_config = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processEscapes": True,
                # myst-nb marks the notebook body tex2jax_ignore (so that a
                # stray $ in code stays as typed) and the maths "math".
                "processClass": "tex2jax_process|mathjax_process|math|output_area"},
    # Stay quiet: no "Loading MathJax" box and no menu pointing to the web.
    "messageStyle": "none",
    "menuSettings": {"zoom": "None"},
    "showMathMenu": False,
}

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
# Decks, handouts and the student edition, copied as they are.
html_extra_path = ["extra"]
html_css_files = ["advbook.css"]
html_last_updated_fmt = None
html_copy_source = False  # the .ipynb sources are big and not for reading
html_show_sourcelink = False
html_theme_options = {
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": True,
    "home_page_in_toc": True,
    # No repository or launch buttons: they would point readers online.
    "use_repository_button": False,
    "navigation_with_keys": False,
}
