"""A study's artefacts (decision catalogue, LaTeX tables, PlantUML views) written from its graph."""
