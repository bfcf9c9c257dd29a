//! The sampling decision of a start that does not take a fast branch (a custom sampler, a
//! given parent, links), then (for a recorded span) its attributes, evaluated only now,
//! outside any engine state, since they are user code.

use std::sync::Arc;

use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};

use crate::engine::frame::{Inherited, Parent};
use crate::engine::ids::SpanIds;
use crate::engine::limits;
use crate::engine::record::{LinkRecord, More, Start, convert_attributes};
use crate::engine::route::Route;
use crate::model::{KeyValue, SmallStr, SpanKind};
use crate::tracestate::TraceState;

/// The outcome of a start.
pub(crate) enum Begin {
    /// Not sampled: ids to propagate, nothing to record.
    Unrecorded(SpanIds, Option<Arc<Inherited>>),
    /// A record to start.
    Recorded(Begun),
}

/// A recorded span about to start: what its frame or handle inherits, and its record's
/// start (whose ids are the span's).
pub(crate) struct Begun {
    pub inherited: Option<Arc<Inherited>>,
    pub start: Start,
}

/// Decides whether the span with `ids` (trace id chosen, span id new) is recorded and, if
/// so, gathers its record's content.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn decide<I>(
    pipeline: &Route,
    parent: Option<Parent>,
    root_inherited: Option<Arc<Inherited>>,
    mut ids: SpanIds,
    name: SmallStr,
    kind: SpanKind,
    attributes: impl FnOnce() -> I,
    links: Vec<LinkRecord>,
) -> Begin
where
    I: IntoIterator<Item = KeyValue>,
{
    let inherited = match &parent {
        Some(p) => p.inherited.clone(),
        None => root_inherited,
    };
    match pipeline
        .sampler
        .fast(parent.as_ref().map(|p| &p.ids), ids.trace_id)
    {
        Ok(false) => Begin::Unrecorded(ids, inherited),
        Ok(true) => {
            ids.sampled = true;
            let parent = parent.map(|p| p.ids);
            recorded(ids, inherited, parent, name, kind, attributes(), links)
        }
        Err(sampler) => ask_custom(
            sampler,
            parent,
            inherited,
            ids,
            name,
            kind,
            attributes().into_iter().collect(),
            links,
        ),
    }
}

/// Events, links, trace state and dropped counts are rare: box them only when there are
/// some.
#[inline]
pub(crate) fn more(
    inherited: &Option<Arc<Inherited>>,
    links: Vec<LinkRecord>,
    dropped_attributes: u32,
) -> Option<Box<More>> {
    if links.is_empty() && dropped_attributes == 0 && Inherited::trace_state(inherited).is_none() {
        return None;
    }
    more_boxed(inherited, links, dropped_attributes)
}

#[cold]
fn more_boxed(
    inherited: &Option<Arc<Inherited>>,
    links: Vec<LinkRecord>,
    dropped_attributes: u32,
) -> Option<Box<More>> {
    let trace_state = Inherited::trace_state(inherited).cloned();
    let max_links = limits::current().link_count;
    let dropped_links = links.len().saturating_sub(max_links) as u32;
    let mut links = links;
    links.truncate(max_links);
    Some(Box::new(More {
        links,
        trace_state,
        dropped_attributes,
        dropped_links,
        ..More::default()
    }))
}

#[cold]
#[allow(clippy::too_many_arguments)]
fn ask_custom(
    sampler: &dyn ShouldSample,
    parent: Option<Parent>,
    inherited: Option<Arc<Inherited>>,
    mut ids: SpanIds,
    name: SmallStr,
    kind: SpanKind,
    mut attributes: Vec<KeyValue>,
    links: Vec<LinkRecord>,
) -> Begin {
    let value_length = limits::value_length();
    let otel_attributes: Vec<opentelemetry::KeyValue> = attributes
        .iter()
        .cloned()
        .map(|kv| kv.into_otel(value_length))
        .collect();
    let otel_links: Vec<opentelemetry::trace::Link> = links
        .iter()
        .map(|l| {
            let trace_state = l
                .trace_state
                .as_ref()
                .map(TraceState::to_otel)
                .unwrap_or_default();
            opentelemetry::trace::Link::with_context(l.ids.to_otel(trace_state))
        })
        .collect();
    let result = crate::engine::sampling::ask(
        sampler,
        parent.as_ref(),
        ids.trace_id,
        name.as_str(),
        kind,
        &otel_attributes,
        &otel_links,
    );
    let baggage = inherited
        .as_ref()
        .and_then(|i| i.baggage.as_ref())
        .map(crate::engine::frame::copy_baggage);
    let original = Inherited::trace_state(&inherited);
    let trace_state = TraceState::from_otel_unless_unchanged(&result.trace_state, original);
    let inherited = Inherited::shared(trace_state, baggage);
    let sampled = match result.decision {
        SamplingDecision::Drop => return Begin::Unrecorded(ids, inherited),
        SamplingDecision::RecordOnly => false,
        SamplingDecision::RecordAndSample => true,
    };
    ids.sampled = sampled;
    attributes.extend(result.attributes.into_iter().map(KeyValue::from_otel));
    let parent = parent.map(|p| p.ids);
    recorded(ids, inherited, parent, name, kind, attributes, links)
}

/// A recorded span's start, as a [`Begin`].
fn recorded(
    ids: SpanIds,
    inherited: Option<Arc<Inherited>>,
    parent: Option<SpanIds>,
    name: SmallStr,
    kind: SpanKind,
    attributes: impl IntoIterator<Item = KeyValue>,
    links: Vec<LinkRecord>,
) -> Begin {
    let start = record_start(ids, &inherited, parent, name, kind, attributes, links);
    Begin::Recorded(Begun { inherited, start })
}

/// A recorded span's start without attributes (most spans): nothing to convert or limit.
pub(crate) fn bare_start(
    ids: SpanIds,
    inherited: &Option<Arc<Inherited>>,
    parent: Option<SpanIds>,
    name: SmallStr,
    kind: SpanKind,
) -> Start {
    Start {
        ids,
        parent,
        name,
        kind,
        attributes: Vec::new(),
        more: more(inherited, Vec::new(), 0),
    }
}

/// A recorded span's start: attributes converted within the limits (the excess counted),
/// the rare parts boxed. Every way of starting a recorded owned span ends here.
pub(crate) fn record_start(
    ids: SpanIds,
    inherited: &Option<Arc<Inherited>>,
    parent: Option<SpanIds>,
    name: SmallStr,
    kind: SpanKind,
    attributes: impl IntoIterator<Item = KeyValue>,
    links: Vec<LinkRecord>,
) -> Start {
    let mut attributes = attributes.into_iter().peekable();
    // Most spans start without attributes: then there is nothing to convert or limit.
    let (attributes, dropped) = if attributes.peek().is_none() {
        (Vec::new(), 0)
    } else {
        let limits = limits::current();
        convert_attributes(attributes, &limits, limits.attribute_count)
    };
    Start {
        ids,
        parent,
        name,
        kind,
        attributes,
        more: more(inherited, links, dropped),
    }
}
