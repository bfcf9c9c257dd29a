//! Our span behind one `tracing` span, kept in that span's extensions: started from its
//! metadata and fields, made current while it is entered (on any thread), updated by
//! `record(..)`, linked by `follows_from(..)`, ended when it closes.

use tracing::span::{Attributes, Id};

use super::conventions::{self, Conventions, StatusFields};
use super::entered;
use super::fields::{TakeField, Typed};
use crate::engine::Handle;
use crate::engine::limits;
use crate::engine::record::LinkRecord;
use crate::engine::route::{Route, RouteRef};
use crate::engine::start::{self, AttributeList, Parentage, Placement, Spec, Started};
use crate::engine::{Inherited, Parent};
use crate::model::{KeyValue, SmallStr, SpanKind, Value};
use crate::span::{Span, SpanRef};

/// Our span for a `tracing` span.
#[derive(Debug)]
pub(super) struct Recorded {
    span: Span,
    /// The status fields seen so far (a description may be recorded after its code).
    status: StatusFields,
}

impl Recorded {
    /// Starts our span for a new `tracing` span under `parent`; `None` when nothing started
    /// (the pipeline shut down, or this thread is exiting).
    pub(super) fn start(route: &'static Route, attrs: &Attributes<'_>, parent: Parentage) -> Option<Self> {
        let metadata = attrs.metadata();
        let default_name = || SmallStr::from_static(metadata.name());
        let fields = metadata.fields();
        let mut read = SpanFields::default();
        let started = if fields.is_empty() {
            begin(route, default_name(), SpanKind::Internal, parent, || [])
        } else if fields
            .iter()
            .any(|f| matches!(f.name(), conventions::NAME | conventions::KIND))
        {
            // The fields name the span or set its kind, which the sampler sees: read them now.
            attrs.record(&mut Typed(&mut read));
            let name = read
                .conventions
                .name
                .take()
                .map_or_else(default_name, SmallStr::from_string);
            let kind = read.conventions.kind.take().unwrap_or_default();
            let attributes = std::mem::take(&mut read.attributes);
            begin(route, name, kind, parent, move || attributes)
        } else {
            // Read only if the span records: formatting values costs more than the span.
            begin(route, default_name(), SpanKind::Internal, parent, || {
                attrs.record(&mut Typed(&mut read));
                std::mem::take(&mut read.attributes)
            })
        };
        let Started::Owned(handle) = started else {
            return None;
        };
        let mut recorded = Recorded {
            span: Span::from_handle(handle),
            status: StatusFields::default(),
        };
        recorded.update_status(read.conventions.status);
        Some(recorded)
    }

    /// This span as the parent of a new one.
    pub(super) fn as_parent(&self) -> Option<Parent> {
        self.span.handle().map(Handle::as_parent)
    }

    /// A reference to the span, for events.
    pub(super) fn as_ref(&self) -> SpanRef {
        self.span.as_ref()
    }

    /// Makes the span current on this thread while the `tracing` span `id` is entered here
    /// (until `entered::exit`).
    pub(super) fn enter(&self, id: &Id) {
        if let Some(handle) = self.span.handle() {
            entered::enter(id, handle);
        }
    }

    /// Fields recorded after the start (`span.record(..)`).
    pub(super) fn record(&mut self, fields: SpanFields) {
        let SpanFields {
            attributes,
            conventions: Conventions { name, kind, status },
        } = fields;
        for kv in attributes {
            self.span.set_attribute(kv.key, kv.value);
        }
        if name.is_some() || kind.is_some() {
            if let Some(handle) = self.span.handle() {
                handle.with_record(|record| {
                    if let Some(name) = name {
                        record.name = SmallStr::from_string(name);
                    }
                    if let Some(kind) = kind {
                        record.kind = kind;
                    }
                });
            }
        }
        self.update_status(status);
    }

    fn update_status(&mut self, later: StatusFields) {
        if later.is_empty() {
            return;
        }
        self.status.update(later);
        self.span.set_status(self.status.status());
    }

    /// Links this span to `other` (`follows_from`), within the link limit.
    pub(super) fn link_to(&self, other: &Parent) {
        let Some(this) = self.span.handle() else {
            return;
        };
        let link = LinkRecord {
            ids: other.ids,
            trace_state: Inherited::trace_state(&other.inherited).cloned(),
        };
        this.with_record(|record| {
            let max = limits::current().link_count;
            let more = record.more.get_or_insert_with(Box::default);
            if more.links.len() < max {
                more.links.push(link);
            } else {
                more.dropped_links = more.dropped_links.saturating_add(1);
            }
        });
    }
}

/// Starts an owned span of the global route.
fn begin<L: AttributeList>(
    route: &'static Route,
    name: SmallStr,
    kind: SpanKind,
    parent: Parentage,
    attributes: impl FnOnce() -> L,
) -> Started {
    let spec = Spec {
        name,
        kind,
        parent,
        attributes,
        links: Vec::new(),
    };
    start::start(RouteRef::Global(route), spec, Placement::Owned)
}

/// A span's fields: attributes, and what the conventions say about the span.
#[derive(Debug, Default)]
pub(super) struct SpanFields {
    attributes: Vec<KeyValue>,
    conventions: Conventions,
}

impl TakeField for SpanFields {
    fn take(&mut self, name: &'static str, value: Value) {
        if let Some(value) = self.conventions.take(name, value) {
            self.attributes.push(KeyValue::new(name, value));
        }
    }
}
