//! Rewrites a JSON answer so that its numbers break their documented ranges.

use axum::body::Body;
use axum::response::Response;
use http::header;
use serde_json::Value;

/// Fields documented to lie in 0..1; they become 3.0.
const UNIT_INTERVAL: &[&str] = &[
    "confidence_score",
    "arousal_level",
    "arousal",
    "baseline",
    "density",
    "avg_clustering_coefficient",
    "effective_connectivity_index",
    "coherence",
    "esgt_success_rate",
    "esgt_avg_coherence",
];

/// Largest inner body read back for rewriting.
const LIMIT: usize = 16 * 1024 * 1024;

/// Reads the inner answer, breaks its numbers and sends it on; an answer that
/// is not JSON goes through unchanged.
pub(super) async fn rewrite(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, LIMIT).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut json) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    break_ranges(&mut json);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json.to_string()))
}

/// Unit-interval fields become 3.0; every other float (durations, latencies,
/// all documented non-negative) becomes -1.0. Integer counts are left alone: a
/// negative count would be a type error, and this fault is about ranges.
fn break_ranges(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if field.is_f64() {
                    *field = if UNIT_INTERVAL.contains(&name.as_str()) {
                        Value::from(3.0)
                    } else {
                        Value::from(-1.0)
                    };
                } else if !field.is_number() {
                    break_ranges(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(break_ranges),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn breaks_unit_fields_and_non_negative_floats_at_any_depth() {
        let mut value = json!({
            "arousal_level": 0.6,
            "tig_metrics": {"node_count": 100, "density": 0.37, "avg_latency_us": 12.4},
            "events": [{"coherence": 0.9}],
            "system_health": "HEALTHY",
        });
        break_ranges(&mut value);
        assert_eq!(
            value,
            json!({
                "arousal_level": 3.0,
                "tig_metrics": {"node_count": 100, "density": 3.0, "avg_latency_us": -1.0},
                "events": [{"coherence": 3.0}],
                "system_health": "HEALTHY",
            })
        );
    }
}
