"""The demo of the whole pipeline (``make demo``): see ``zamio.demo.run``."""
