//! Starting a span that a handle owns (not made current): `SpanBuilder::start`, the span of
//! an `async fn` call, a standalone manager's spans. A recorded span's record goes into a
//! cell. Under a parent-based sampler a child takes its parent's decision, and a child of
//! this thread's current span finds its parent and its new id in one visit to the thread.

use std::sync::Arc;

use super::decide::{self, Begin, decide};
use super::{AttributeList, Parentage, Spec, Started};
use crate::engine::cell::SpanCell;
use crate::engine::clock;
use crate::engine::frame::{Inherited, Parent, Target};
use crate::engine::handle::{EndCount, Handle, RecordRef};
use crate::engine::ids::{IdGenerator, SpanIds};
use crate::engine::local;
use crate::engine::record::Record;
use crate::engine::route::{Route, RouteRef};
use crate::engine::thread::{self, FAST};
use crate::model::{SmallStr, SpanKind};

/// Starts a span on `route`, owned by the handle returned. Inlined: its callers pass most
/// of `spec` as constants (the parent choice, no links).
#[inline(always)]
pub(super) fn start<L: AttributeList>(route: RouteRef, spec: Spec<impl FnOnce() -> L>) -> Started {
    if !route.is_active() {
        return Started::Nothing;
    }
    let Spec {
        name,
        kind,
        parent,
        attributes,
        links,
    } = spec;
    if let RouteRef::Global(global) = route {
        if global.children_follow && links.is_empty() {
            match parent {
                Parentage::Current | Parentage::CurrentIfAny => match child_of_current(global) {
                    Some((parent, ids)) => {
                        return Started::Owned(child(global, parent, ids, name, kind, attributes));
                    }
                    // No bridge with children following (that is the short path): with no
                    // frame here, nothing is current.
                    None if matches!(parent, Parentage::CurrentIfAny) => return Started::NoParent(name),
                    None => return general(route, None, None, name, kind, attributes, links),
                },
                Parentage::Given(Some(parent), _) => {
                    let ids = child_ids(global, &parent.ids);
                    return Started::Owned(child(global, parent, ids, name, kind, attributes));
                }
                Parentage::Given(None, root_inherited) => {
                    return general(route, None, root_inherited, name, kind, attributes, links);
                }
            }
        }
    }
    let (parent, root_inherited) = match parent {
        Parentage::Current => (local::parent(), None),
        Parentage::CurrentIfAny => match local::parent() {
            Some(parent) => (Some(parent), None),
            None => return Started::NoParent(name),
        },
        Parentage::Given(parent, root_inherited) => (parent, root_inherited),
    };
    general(route, parent, root_inherited, name, kind, attributes, links)
}

/// Any owned span: new ids, counted, decided by the route's sampler.
#[inline(never)]
fn general<L: AttributeList>(
    route: RouteRef,
    parent: Option<Parent>,
    root_inherited: Option<Arc<Inherited>>,
    name: SmallStr,
    kind: SpanKind,
    attributes: impl FnOnce() -> L,
    links: Vec<crate::engine::record::LinkRecord>,
) -> Started {
    let ids = generate_ids(parent.as_ref());
    route.count_started();
    match decide(&route, parent, root_inherited, ids, name, kind, attributes, links) {
        Begin::Unrecorded(ids, inherited) => {
            let counter = match &route {
                RouteRef::Global(_) => EndCount::Global,
                RouteRef::Standalone(r) => EndCount::Standalone(Arc::clone(r)),
            };
            Started::Owned(Handle {
                ids,
                inherited,
                record: RecordRef::Unrecorded(counter),
            })
        }
        Begin::Recorded(begun) => {
            let ids = begun.start.ids;
            let record = Record::start(begun.start, clock::now());
            Started::Owned(Handle {
                ids,
                inherited: begun.inherited,
                record: RecordRef::Cell(SpanCell::open(route, record)),
            })
        }
    }
}

/// A span of the global route under `parent` when its sampler is parent-based: the decision
/// is the parent's, and a sampled span's record is written straight into its cell. `ids`:
/// the child's, from [`child_ids`] or [`child_of_current`] (counted as started there).
fn child<L: AttributeList>(
    route: &'static Route,
    parent: Parent,
    ids: SpanIds,
    name: SmallStr,
    kind: SpanKind,
    attributes: impl FnOnce() -> L,
) -> Handle {
    debug_assert!(route.children_follow, "only under a parent-based sampler");
    let Parent {
        ids: parent_ids,
        inherited,
    } = parent;
    if !ids.sampled {
        return Handle {
            ids,
            inherited,
            record: RecordRef::Unrecorded(EndCount::Global),
        };
    }
    // Most spans start without attributes: then there is nothing to convert, and an empty
    // vector has nothing to free.
    let start = if L::NONE {
        decide::bare_start(ids, &inherited, Some(parent_ids), name, kind)
    } else {
        decide::record_start(
            ids,
            &inherited,
            Some(parent_ids),
            name,
            kind,
            attributes(),
            Vec::new(),
        )
    };
    let record = Record::start(start, clock::now());
    Handle {
        ids,
        inherited,
        record: RecordRef::Cell(SpanCell::open(RouteRef::Global(route), record)),
    }
}

/// New ids for an owned span under `parent` (or a root).
fn generate_ids(parent: Option<&Parent>) -> SpanIds {
    let parent = parent.map(|p| &p.ids);
    thread::with(|l| match l.inner() {
        Some(mut inner) => super::current::new_ids(&mut inner.ids, parent),
        None => super::current::new_ids(&mut IdGenerator::new(), parent),
    })
    .unwrap_or_else(|| super::current::new_ids(&mut IdGenerator::new(), parent))
}

/// Counts the start of a span under `parent` for the global route and gives it its ids
/// (one visit to this thread's state); sampled as its parent is (children follow).
fn child_ids(route: &Route, parent: &SpanIds) -> SpanIds {
    let span_id = thread::with(|l| {
        FAST.with(|f| f.started(route.generation));
        l.inner().map(|mut inner| inner.ids.span_id())
    })
    .flatten()
    .unwrap_or_else(|| IdGenerator::new().span_id());
    SpanIds {
        trace_id: parent.trace_id,
        span_id,
        sampled: parent.sampled,
        remote: false,
    }
}

/// The current frame of this thread as a parent, and the ids of a new child under it (its
/// start counted): one visit, for a parent-based sampler. `None` without a frame here.
///
/// Under a local span that records nothing, the child (which records nothing either) takes
/// the parent's ids, as a sync span shares its parent's frame: a future polled where that
/// parent is current then pushes no frame of its own (`InSpan`). Its span id, in
/// `Span::span_id()`, logs and the `traceparent` it propagates, is the parent's. A parent
/// that records without being sampled (a custom sampler's "record only") is not shared: its
/// frame points at its record, and a second frame with its id could be popped in its place.
fn child_of_current(route: &Route) -> Option<(Parent, SpanIds)> {
    thread::with(|l| {
        let mut inner = l.inner()?;
        let inner = &mut *inner;
        let top = inner.frames.last()?;
        let parent = Parent {
            ids: top.ids,
            inherited: top.inherited.clone(),
        };
        let shares = matches!(top.target, Target::Unrecorded) && !top.ids.sampled && !top.ids.remote;
        FAST.with(|f| f.started(route.generation));
        let ids = if shares {
            parent.ids
        } else {
            SpanIds {
                trace_id: parent.ids.trace_id,
                span_id: inner.ids.span_id(),
                sampled: parent.ids.sampled,
                remote: false,
            }
        };
        Some((parent, ids))
    })
    .flatten()
}
