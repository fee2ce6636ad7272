"""Running the stack: the embedded broker and worker processes, their supervisor, and indexing
the catalog."""
