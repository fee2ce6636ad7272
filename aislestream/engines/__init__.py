"""Online inference behind small protocols. Nothing here imports faust or Kafka."""
