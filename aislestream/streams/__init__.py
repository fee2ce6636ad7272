"""Kafka stream processors (faust-streaming): records, topics, the app factory and agents."""
