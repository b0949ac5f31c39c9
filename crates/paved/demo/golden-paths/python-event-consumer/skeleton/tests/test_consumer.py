"""The consumer against the in-memory broker, and its HTTP probes on a real socket."""
import json
import threading
import urllib.error
import urllib.request

import pytest

from consumer.broker import InMemoryBroker
from consumer.handler import InvalidEvent, parse
from consumer.main import DEAD_LETTER_TOPIC, TOPIC, Consumer, health_server


def event(**fields):
    return json.dumps({"id": "e1", "sku": "BOLT-12", "delta": 5} | fields).encode()


def test_events_are_applied_once_and_acknowledged():
    broker = InMemoryBroker(TOPIC)
    consumer = Consumer(broker)
    broker.publish(TOPIC, event())
    broker.publish(TOPIC, event())  # redelivered: same id
    broker.publish(TOPIC, event(id="e2", delta=-2))
    outcomes = [consumer.handle(broker.poll(0.1)) for _ in range(3)]
    assert outcomes == ["applied", "duplicate", "applied"]
    assert consumer.ledger.stock == {"BOLT-12": 3}
    assert [m.offset for m in broker.acked] == [0, 1, 2]


def test_invalid_events_are_dead_lettered_with_the_fields_named():
    broker = InMemoryBroker(TOPIC)
    consumer = Consumer(broker)
    broker.publish(TOPIC, event(sku="", delta="many"))
    broker.publish(TOPIC, b"{not json")
    assert consumer.handle(broker.poll(0.1)) == "dead_lettered"
    assert consumer.handle(broker.poll(0.1)) == "dead_lettered"
    dead = broker.messages(DEAD_LETTER_TOPIC)
    assert [e["field"] for e in json.loads(dead[0].headers["error"])] == ["sku", "delta"]
    assert json.loads(dead[1].headers["error"])[0]["field"] == "body"
    assert consumer.ledger.stock == {}
    with pytest.raises(InvalidEvent) as err:
        parse(b'{"id": "x", "sku": "A", "delta": true}')
    assert err.value.errors == [{"field": "delta", "message": "must be an integer between -1000000 and 1000000"}]


def test_failing_work_is_retried_then_dead_lettered():
    class Flaky:
        calls = 0

        def apply(self, _event):
            Flaky.calls += 1
            raise RuntimeError("database unavailable")

    broker = InMemoryBroker(TOPIC)
    consumer = Consumer(broker, ledger=Flaky(), retry_delay=0)
    broker.publish(TOPIC, event())
    assert consumer.handle(broker.poll(0.1)) == "dead_lettered"
    assert Flaky.calls == 5
    assert broker.messages(DEAD_LETTER_TOPIC)[0].headers["error"] == "retries exhausted"


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_health_readiness_and_metrics_over_http():
    broker = InMemoryBroker(TOPIC)
    consumer = Consumer(broker)
    server = health_server(consumer, 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert get(base + "/healthz/live")[0] == 200
        status, body = get(base + "/healthz/ready")
        assert status == 503 and json.loads(body)["error"]["code"] == "not_ready"
        loop = threading.Thread(target=consumer.run)
        loop.start()
        broker.publish(TOPIC, event())
        assert consumer.ready.wait(5)
        assert get(base + "/healthz/ready")[0] == 200
        for _ in range(50):
            if broker.acked:
                break
            threading.Event().wait(0.1)
        consumer.stopping.set()
        loop.join(5)
        status, metrics = get(base + "/metrics")
        assert 'events_handled_total{outcome="applied"} 1.0' in metrics
        assert get(base + "/nowhere")[0] == 404
    finally:
        server.shutdown()
