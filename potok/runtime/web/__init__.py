"""The runtime's web layer: views, layout of cards and forms, URLs."""
