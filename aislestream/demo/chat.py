"""A shopper's side of the assistant stream: send a turn, wait for its reply (``aisle chat``)."""

from __future__ import annotations

import json
import time
import uuid

from aislestream.connectors.security import kafka_python_kwargs
from aislestream.errors import AisleError
from aislestream.settings import TopicSettings
from aislestream.streams import topics
from aislestream.streams.assistant import encode_turn


class ChatClient:
    """One session against the running stack. Replies are matched by (session id, turn); the
    turn number advances only when a turn was answered, so a rejected turn can be said again."""

    def __init__(self, bootstrap: str, topic_settings: TopicSettings, session_id: str | None = None,
                 timeout_s: float = 60.0) -> None:
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition

        self.session_id = session_id or f"chat-{uuid.uuid4().hex[:12]}"
        self.turns_topic = topic_settings.name(topics.ASSISTANT_TURNS)
        replies = topic_settings.name(topics.ASSISTANT_REPLIES)
        self.timeout_s, self.turn = timeout_s, 0
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0,
                                      **kafka_python_kwargs())
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                      fetch_max_wait_ms=50, **kafka_python_kwargs())
        partitions = self.consumer.partitions_for_topic(replies)
        if not partitions:
            raise AisleError(f"topic {replies} does not exist: is a worker running "
                             "(`aisle up` or `aisle worker`)?")
        assigned = [TopicPartition(replies, p) for p in sorted(partitions)]
        self.consumer.assign(assigned)
        self.consumer.seek_to_end()
        for tp in assigned:  # resolve the end offsets now, before the first turn is sent
            self.consumer.position(tp)

    def say(self, text: str) -> dict:
        turn = self.turn
        key, value = encode_turn(self.session_id, turn, text)
        self.producer.send(self.turns_topic, key=key, value=value)
        self.producer.flush(timeout=10)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            for records in self.consumer.poll(timeout_ms=200).values():
                for record in records:
                    if record.key != self.session_id.encode():
                        continue
                    reply = json.loads(record.value)
                    if reply["turn"] == turn:
                        if reply.get("error_type") is None:
                            self.turn += 1
                        return reply
        raise AisleError(f"no reply to turn {turn} within {self.timeout_s:.0f} s: "
                         "is a worker with the assistant running (`aisle up` or `aisle worker`)?")

    def close(self) -> None:
        self.producer.close()
        self.consumer.close()
