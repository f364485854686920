"""Two modules with a model of the same name, for the page schema names."""
