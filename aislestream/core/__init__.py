"""The ground floor: the vocabulary every layer shares (products, text, ad specs, retrieval
metrics, artifact paths); it imports nothing of the project."""
