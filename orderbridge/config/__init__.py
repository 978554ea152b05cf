"""Settings models, YAML loading with ${ENV} interpolation, and readable configuration errors."""
