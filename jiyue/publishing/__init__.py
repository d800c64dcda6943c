"""Static-first publishing: the dependency graph, the renderer and the published file tree."""
