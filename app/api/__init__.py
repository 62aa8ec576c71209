"""The HTTP service: SPARQL 1.1 Protocol, a JSON API and linked data over one snapshot."""
