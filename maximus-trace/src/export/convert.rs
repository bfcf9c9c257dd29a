//! Records into OpenTelemetry `SpanData`, on the export thread only: everything the
//! exporters and span metrics read is built here, off the application's threads.

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{Event, Link, TraceState};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::engine::clock::WallClock;
use crate::engine::record::{Attr, EventRecord, More, Record};

/// Converts the records of one batch (same anchor, same scope).
pub(crate) struct Converter {
    anchor: WallClock,
    scope: InstrumentationScope,
}

impl Converter {
    pub(crate) fn new() -> Self {
        Converter {
            anchor: WallClock::anchor(),
            scope: InstrumentationScope::builder("maximus-trace")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        }
    }

    /// Re-anchors wall time; called once per batch, so a clock-rate error only scales the
    /// distance between a span and its batch.
    pub(crate) fn reanchor(&mut self) {
        self.anchor = WallClock::anchor();
    }

    /// The anchor of this batch's wall times.
    pub(crate) fn clock(&self) -> &WallClock {
        &self.anchor
    }

    /// Whether `record` is an ended, sampled span (what gets exported).
    pub(crate) fn exports(record: &Record) -> bool {
        record.exportable()
    }

    pub(crate) fn convert(&self, record: Record) -> SpanData {
        let more = record.more.map(|m| *m).unwrap_or_default();
        let More {
            events,
            links,
            status,
            trace_state,
            dropped_attributes,
            dropped_events,
            dropped_links,
        } = more;
        let ids = crate::engine::SpanIds {
            trace_id: record.trace_id,
            span_id: record.span_id,
            sampled: true,
            remote: false,
        };
        let mut span_events = SpanEvents::default();
        span_events.events = events.into_iter().map(|e| self.event(e)).collect();
        span_events.dropped_count = dropped_events;
        let mut span_links = SpanLinks::default();
        span_links.links = links
            .into_iter()
            .map(|l| {
                let state = l.trace_state.as_ref().map(crate::tracestate::TraceState::to_otel);
                Link::with_context(l.ids.to_otel(state.unwrap_or_default()))
            })
            .collect();
        span_links.dropped_count = dropped_links;
        SpanData {
            span_context: ids.to_otel(trace_state.map_or_else(TraceState::default, |s| s.to_otel())),
            parent_span_id: record.parent_id.to_otel(),
            parent_span_is_remote: record.parent_remote,
            span_kind: record.kind.into_otel(),
            name: record.name.into_cow(),
            start_time: self.anchor.wall_time(record.start),
            end_time: self.anchor.wall_time(record.end),
            attributes: record.attributes.into_iter().map(Attr::into_otel).collect(),
            dropped_attributes_count: dropped_attributes,
            events: span_events,
            links: span_links,
            status: status.into_otel(),
            instrumentation_scope: self.scope.clone(),
        }
    }

    fn event(&self, event: EventRecord) -> Event {
        let attributes = event.all_attributes().cloned().map(Attr::into_otel).collect();
        Event::new(
            event.name,
            self.anchor.wall_time(event.time),
            attributes,
            event.dropped_attributes,
        )
    }
}
