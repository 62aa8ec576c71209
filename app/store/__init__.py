"""Graph stores: what the service asks of one (``seam``), and the embedded Oxigraph snapshot."""
