//! The start path on a route of its own whose sink is a fake: no global pipeline, no export
//! thread, nothing but the engine. Small enough for Miri (`.ci/run`).

use std::sync::{Arc, Mutex, PoisonError};

use super::{Parentage, Placement, Spec, Started, start};
use crate::engine::record::Record;
use crate::engine::route::{Route, RouteRef, Sink};
use crate::engine::sampling::{Root, Sampler};
use crate::engine::{Handle, RecordRef};
use crate::model::{KeyValue, SmallStr, SpanKind};

/// Keeps what the engine delivers.
#[derive(Debug, Default)]
struct Collect {
    records: Mutex<Vec<Record>>,
    counted: Mutex<(u64, u64)>,
}

impl Collect {
    fn names(&self) -> Vec<String> {
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.iter().map(|r| r.name.as_str().to_owned()).collect()
    }
}

impl Sink for Collect {
    fn exchange(&self, mut chunk: Vec<Record>) -> Vec<Record> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.append(&mut chunk);
        chunk
    }

    fn push(&self, record: Record) {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }

    fn count(&self, started: u64, ended: u64) {
        let mut counted = self.counted.lock().unwrap_or_else(PoisonError::into_inner);
        counted.0 += started;
        counted.1 += ended;
    }
}

fn route(root: Root) -> (Arc<Route>, Arc<Collect>) {
    let sink = Arc::new(Collect::default());
    let route = Route::new(Sampler::builtin(true, root), false, sink.clone());
    (Arc::new(route), sink)
}

fn spec(name: &'static str, parent: Parentage) -> Spec<impl FnOnce() -> Vec<KeyValue>> {
    Spec {
        name: SmallStr::from_static(name),
        kind: SpanKind::Internal,
        parent,
        attributes: || vec![KeyValue::new("n", 1_i64)],
        links: Vec::new(),
    }
}

/// Starts an owned span on `route`.
fn owned(route: &Arc<Route>, name: &'static str, parent: Parentage) -> Handle {
    match start(RouteRef::of(route), spec(name, parent), Placement::Owned) {
        Started::Owned(handle) => handle,
        other => panic!("an owned span: {other:?}"),
    }
}

/// Ends an owned span as `Span`'s drop does.
fn end(started: Started) {
    let Started::Owned(handle) = started else {
        panic!("an owned span: {started:?}");
    };
    if let RecordRef::Cell(cell) = &handle.record {
        cell.end();
    }
}

#[test]
fn an_owned_span_reaches_its_routes_sink_with_its_attributes() {
    let (route, sink) = route(Root::Always);
    end(start(
        RouteRef::of(&route),
        spec("owned", Parentage::Current),
        Placement::Owned,
    ));
    let records = sink.records.lock().unwrap_or_else(PoisonError::into_inner);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].name.as_str(), "owned");
    assert_eq!(records[0].attributes.len(), 1);
    assert!(records[0].sampled);
}

#[test]
fn a_child_given_its_parent_shares_the_trace_and_points_at_it() {
    let (route, sink) = route(Root::Always);
    let parent = owned(&route, "parent", Parentage::Current);
    let child = start(
        RouteRef::of(&route),
        spec("child", Parentage::Given(Some(parent.as_parent()), None)),
        Placement::Owned,
    );
    end(child);
    let parent_ids = parent.ids;
    end(Started::Owned(parent));
    assert_eq!(sink.names(), ["child", "parent"]);
    let records = sink.records.lock().unwrap_or_else(PoisonError::into_inner);
    assert_eq!(records[0].trace_id, parent_ids.trace_id);
    assert_eq!(records[0].parent_id, parent_ids.span_id);
}

#[test]
fn a_route_that_samples_nothing_delivers_nothing_and_evaluates_no_attributes() {
    let (route, sink) = route(Root::Never);
    let started = start(
        RouteRef::of(&route),
        Spec {
            name: SmallStr::from_static("dropped"),
            kind: SpanKind::Internal,
            parent: Parentage::Current,
            attributes: || -> Vec<KeyValue> { panic!("attributes of an unsampled span") },
            links: Vec::new(),
        },
        Placement::Owned,
    );
    drop(started);
    assert!(sink.names().is_empty());
}

#[test]
fn an_ended_span_ends_once() {
    let (route, sink) = route(Root::Always);
    let handle = owned(&route, "once", Parentage::Current);
    if let RecordRef::Cell(cell) = &handle.record {
        cell.end();
        cell.end();
    }
    assert_eq!(sink.names(), ["once"]);
}
