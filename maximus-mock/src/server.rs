//! Assembles the application and runs it until told to stop.

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::middleware::from_fn_with_state;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::connection::{Connection, KillableListener};
use crate::state::AppState;
use crate::{admin, faults, requests, routes, tracing};

/// How long in-flight requests get to finish once shutdown starts; after that
/// every connection is killed.
const GRACE: Duration = Duration::from_secs(1);

/// The backend's routes wrapped in the mock's layers (outermost last), then
/// the admin routes, which no layer sees.
fn app(state: Arc<AppState>) -> Router {
    routes::api()
        .layer(from_fn_with_state(state.clone(), faults::apply))
        .layer(from_fn_with_state(state.clone(), requests::record))
        .layer(tracing::layer(&state.tracing))
        .merge(admin::routes())
        .with_state(state)
}

/// Serves on `listener` until `stop` changes or its sender is dropped, then
/// shuts down gracefully, killing whatever is still open after [`GRACE`].
pub(crate) async fn run(listener: TcpListener, state: Arc<AppState>, stop: watch::Receiver<()>) {
    let killed = Arc::new(AtomicBool::new(false));
    let listener = KillableListener::new(listener, killed.clone());
    let service = app(state).into_make_service_with_connect_info::<Connection>();

    let mut graceful = stop.clone();
    let serve = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            let _ = graceful.changed().await;
        })
        .into_future();
    let mut forced = stop;
    let deadline = async move {
        let _ = forced.changed().await;
        tokio::time::sleep(GRACE).await;
    };

    tokio::select! {
        _ = serve => log::debug!("maximus-mock: stopped"),
        () = deadline => {
            log::debug!("maximus-mock: grace period over, killing open connections");
            killed.store(true, Ordering::Release);
        }
    }
}
