"""The broker abstraction: the consumer sees messages and acknowledges them, nothing more.

`InMemoryBroker` runs the whole consumer in one process (tests, local runs: BROKER=memory);
`KafkaBroker` is the production adapter (BROKER=kafka, needs the `kafka` extra).
"""
from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Message:
    topic: str
    value: bytes
    key: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    offset: int = 0


class Broker(Protocol):
    def poll(self, timeout: float) -> Message | None: ...
    def ack(self, message: Message) -> None: ...
    def publish(self, topic: str, value: bytes, headers: dict[str, str] | None = None) -> None: ...
    def close(self) -> None: ...


class InMemoryBroker:
    """Topics are queues in memory; acknowledged offsets are kept for tests to read."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._queues: dict[str, queue.Queue[Message]] = {}
        self._offsets: dict[str, int] = {}
        self._lock = threading.Lock()
        self.acked: list[Message] = []

    def _queue(self, topic: str) -> queue.Queue[Message]:
        with self._lock:
            return self._queues.setdefault(topic, queue.Queue())

    def publish(self, topic: str, value: bytes, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            offset = self._offsets.get(topic, 0)
            self._offsets[topic] = offset + 1
        self._queue(topic).put(Message(topic, value, headers=dict(headers or {}), offset=offset))

    def poll(self, timeout: float) -> Message | None:
        try:
            return self._queue(self.topic).get(timeout=timeout)
        except queue.Empty:
            return None

    def ack(self, message: Message) -> None:
        self.acked.append(message)

    def messages(self, topic: str) -> list[Message]:
        """What was published to a topic and not consumed (the dead-letter topic, in tests)."""
        return list(self._queue(topic).queue)

    def close(self) -> None:
        pass


class KafkaBroker:  # pragma: no cover - needs a Kafka cluster
    """Kafka through confluent-kafka: manual commits after each handled message."""

    def __init__(self, topic: str, servers: str, group: str) -> None:
        from confluent_kafka import Consumer, Producer

        self._consumer = Consumer({
            "bootstrap.servers": servers,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        })
        self._consumer.subscribe([topic])
        self._producer = Producer({"bootstrap.servers": servers})

    def poll(self, timeout: float) -> Message | None:
        raw = self._consumer.poll(timeout)
        if raw is None or raw.error():
            return None
        headers = {k: v.decode() for k, v in (raw.headers() or []) if v is not None}
        message = Message(raw.topic(), raw.value(), raw.key(), headers, raw.offset())
        message.raw = raw  # type: ignore[attr-defined]
        return message

    def ack(self, message: Message) -> None:
        self._consumer.commit(message=message.raw, asynchronous=False)  # type: ignore[attr-defined]

    def publish(self, topic: str, value: bytes, headers: dict[str, str] | None = None) -> None:
        self._producer.produce(topic, value, headers=list((headers or {}).items()))
        self._producer.flush(10)

    def close(self) -> None:
        self._consumer.close()


def broker_from_env(topic: str) -> Broker:
    kind = os.environ.get("BROKER", "memory")
    if kind == "memory":
        return InMemoryBroker(topic)
    if kind == "kafka":
        return KafkaBroker(topic, os.environ["KAFKA_BOOTSTRAP_SERVERS"],
                           os.environ.get("KAFKA_GROUP_ID", "${{ values.name }}"))
    raise SystemExit(f"BROKER={kind!r} is not one of memory, kafka")
