"""Redis storage, one store per concern, each owning its keys, value formats and scripts."""
