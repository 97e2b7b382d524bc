"""Returns Console: reconcile e-commerce returns between a returns platform and an ERP."""

__version__ = "0.1.0"
