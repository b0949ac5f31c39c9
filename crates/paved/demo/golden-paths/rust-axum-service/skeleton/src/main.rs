//! ${{ values.name }}: ${{ values.description }}

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = service::telemetry::init("${{ values.name }}")?;
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let addr = SocketAddr::from(([0, 0, 0, 0], port));
    let state = service::AppState::new();
    let app = service::router(state.clone());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "listening");
    state.set_ready(true);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown(state))
        .await?;
    telemetry.shutdown();
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM, then reports not ready so the load balancer drains.
async fn shutdown(state: service::AppState) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    state.set_ready(false);
    tracing::info!("shutting down");
}
