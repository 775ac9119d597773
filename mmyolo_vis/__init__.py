"""mmyolo_vis: the library behind the demo scripts."""
__version__ = '0.1.0'
