"""The model as RDF: triples under the meshkg ontology, and the serialisation formats."""
