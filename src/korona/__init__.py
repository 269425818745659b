"""korona: the koronaportefølje and Sykdomspulsen in one system."""

__version__ = "0.1.0"
