"""Drives the app in process through Starlette's test client."""
import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture()
def client():
    return TestClient(create_app())


def test_liveness_and_readiness(client):
    assert client.get("/healthz/live").json() == {"status": "ok"}
    assert client.get("/healthz/ready").status_code == 200
    client.app.state.ready = False
    response = client.get("/healthz/ready")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"


def test_items_are_created_and_read_back(client):
    response = client.post("/v1/items", json={"name": " bolts ", "quantity": 12})
    assert response.status_code == 201, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    created = response.json()
    assert created == {"id": 1, "name": "bolts", "quantity": 12}
    assert client.get("/v1/items/1").json() == created
    assert client.get("/v1/items").json() == {"items": [created]}
    missing = client.get("/v1/items/7")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_invalid_bodies_get_json_errors_naming_the_field(client):
    response = client.post("/v1/items", json={"name": "", "quantity": -1})
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "validation_failed"
    assert [d["field"] for d in body["details"]] == ["name", "quantity"]

    response = client.post("/v1/items", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"

    response = client.get("/v1/items/zero")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "id"

    assert client.get("/nowhere").json()["error"]["code"] == "not_found"


def test_metrics_and_openapi_are_served(client):
    client.get("/healthz/live")
    metrics = client.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/healthz/live",status="200"} 1.0' in metrics
    response = client.get("/openapi.yaml")
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.text.startswith("openapi: 3.0.3")
