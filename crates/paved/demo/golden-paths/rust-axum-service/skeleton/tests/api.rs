//! Drives the router in process: health, the items endpoint, validation and error shapes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(Body::from(body.unwrap_or("").to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn ready_app() -> axum::Router {
    let state = service::AppState::new();
    state.set_ready(true);
    service::router(state)
}

#[tokio::test]
async fn liveness_and_readiness() {
    let state = service::AppState::new();
    let app = service::router(state.clone());
    let (status, _, body) = call(&app, "GET", "/healthz/live", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "ok"})
    );
    let (status, _, body) = call(&app, "GET", "/healthz/ready", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        "not_ready"
    );
    state.set_ready(true);
    let (status, _, _) = call(&app, "GET", "/healthz/ready", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn items_are_created_and_read_back() {
    let app = ready_app();
    let (status, headers, body) = call(
        &app,
        "POST",
        "/v1/items",
        Some(r#"{"name":" bolts ","quantity":12}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created, json!({"id": 1, "name": "bolts", "quantity": 12}));
    let (status, _, body) = call(&app, "GET", "/v1/items/1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), created);
    let (_, _, body) = call(&app, "GET", "/v1/items", None).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"items": [created]})
    );
    let (status, _, body) = call(&app, "GET", "/v1/items/7", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        "not_found"
    );
}

#[tokio::test]
async fn invalid_bodies_get_json_errors_naming_the_field() {
    let app = ready_app();
    let (status, _, body) = call(
        &app,
        "POST",
        "/v1/items",
        Some(r#"{"name":"","quantity":-1}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "validation_failed");
    let fields: Vec<&str> = error["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "quantity"]);

    let (status, _, body) = call(&app, "POST", "/v1/items", Some("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        "bad_request"
    );

    let (status, _, body) = call(&app, "GET", "/v1/items/zero", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["details"][0]["field"],
        "id"
    );
}

#[tokio::test]
async fn metrics_and_openapi_are_served() {
    let app = ready_app();
    call(&app, "GET", "/healthz/live", None).await;
    let (status, _, body) = call(&app, "GET", "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"http_requests_total{method="GET",route="/healthz/live",status="200"} 1"#),
        "{body}"
    );
    let (status, headers, body) = call(&app, "GET", "/openapi.yaml", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/yaml");
    assert!(body.starts_with("openapi: 3.0.3"));
}
