"""The terminal console (Textual). It calls services; it never makes HTTP calls itself."""
