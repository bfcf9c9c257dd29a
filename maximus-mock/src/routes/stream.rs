//! `GET /api/v1/governance/stream/{operator_id}`: server-sent events announcing
//! decisions that need the operator.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use futures_util::stream;
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use crate::clock;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct StreamQuery {
    session_id: Option<String>,
}

/// Sends the configured number of `decision_pending` events, spaced by the
/// configured interval, then ends. Each event's decision is created when it
/// is sent, so it shows up in `/pending` from then on.
///
/// A `session_id`, when given, must name a session of this operator.
pub(super) async fn decisions(
    State(state): State<Arc<AppState>>,
    Path(operator_id): Path<String>,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(StreamQuery { session_id }) = query?;
    let config = {
        let world = state.world();
        if let Some(session_id) = session_id {
            match world.sessions.get(&session_id) {
                None => {
                    return Err(ApiError::not_found(format!("session {session_id} not found")));
                }
                Some(session) if session.operator_id != operator_id => {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        format!("session {session_id} belongs to another operator"),
                    ));
                }
                Some(_) => {}
            }
        }
        world.stream
    };

    let events = stream::unfold(0usize, move |sent| {
        let state = state.clone();
        let operator_id = operator_id.clone();
        async move {
            if sent >= config.events {
                return None;
            }
            if sent > 0 {
                tokio::time::sleep(config.interval).await;
            }
            let decision = state.world().propose_for(&operator_id);
            let event = json!({
                "type": "decision_pending",
                "timestamp": clock::now(),
                "decision": decision,
            });
            let frame = format!("data: {event}\n\n");
            Some((Ok::<_, std::convert::Infallible>(frame), sent + 1))
        }
    });

    let mut response = Response::new(Body::from_stream(events));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
