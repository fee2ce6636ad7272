"""Model definitions and offline work. Nothing here runs Kafka or talks to a database."""
