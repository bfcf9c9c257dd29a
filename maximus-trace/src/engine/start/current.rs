//! Starting a span of the global route that becomes current on this thread: its record is
//! written into this thread's buffer and its frame pushed, both in place. With a built-in
//! sampler and no bridge it is decided, recorded and pushed under one borrow of the thread's
//! state, the common case (under a sampled span of this thread, no attributes) straight
//! through; a custom sampler, the bridge, a given parent or links take the general branch.

use std::sync::Arc;

use super::decide::{Begin, decide, more};
use super::{AttributeList, Parentage, Spec, Started};
use crate::engine::buffer;
use crate::engine::clock;
use crate::engine::frame::Top;
use crate::engine::frame::{Frame, Inherited, Target};
use crate::engine::ids::{IdGenerator, SpanId, SpanIds};
use crate::engine::local;
use crate::engine::record::{Attr, More, Record, State};
use crate::engine::route::{self, Route};
use crate::engine::shared::ThreadShared;
use crate::engine::thread::{self, FAST, Inner};
use crate::model::{SmallStr, SpanKind};

/// See [`super::shares_current_frame`].
#[inline(always)]
pub(super) fn share_frame() -> bool {
    FAST.with(|f| {
        if f.top.get() != Top::Shares {
            return false;
        }
        let generation = route::global_generation();
        f.started(generation);
        f.ended(generation);
        true
    })
}

/// See [`super::shared_frame`].
pub(super) fn share_frame_ids() -> Option<(SpanIds, Option<Arc<Inherited>>)> {
    if FAST.with(|f| f.top.get()) != Top::Shares {
        return None;
    }
    let top = thread::with(|l| {
        let inner = l.peek()?;
        let top = inner.frames.last()?;
        Some((top.ids, top.inherited.clone()))
    })
    .flatten()?;
    share_frame();
    Some(top)
}

/// Starts a span of the global `route` under the current one (or the given parent) and
/// makes it current.
#[inline]
pub(super) fn start<L: AttributeList>(route: &'static Route, spec: Spec<impl FnOnce() -> L>) -> Started {
    let Spec {
        name,
        kind,
        parent,
        attributes,
        links,
    } = spec;
    let literal = name.as_static();
    let (Some(name), Parentage::Current | Parentage::CurrentIfAny, true) =
        (literal, &parent, links.is_empty())
    else {
        return general(route, parent, name, kind, attributes, links);
    };
    match under_current(route, name, kind, attributes) {
        Some(span_id) => Started::Current(span_id),
        None => Started::Nothing,
    }
}

/// [`start`]'s branch for a span under the current one without links, named by a literal.
/// With a built-in sampler and no bridge it is decided, recorded and pushed under one borrow
/// of the thread's state; otherwise it takes the general branch. The macros' path enters
/// here directly (all of that is known where they expand). The name is a `&'static str`, not
/// a `SmallStr`: a value with drop glue would be kept in memory for the unwinding paths.
#[inline]
pub(crate) fn under_current<L: AttributeList>(
    route: &'static Route,
    name: &'static str,
    kind: SpanKind,
    attributes: impl FnOnce() -> L,
) -> Option<SpanId> {
    if !route.short_path {
        return general_under_current(route, SmallStr::from_static(name), kind, attributes);
    }
    if !L::NONE {
        return with_attributes(route, name, kind, attributes);
    }
    let under_recorded = route.children_follow && FAST.with(|f| f.top.get()) == Top::Recorded;
    // Read first when this span will be recorded: the clock's latency then overlaps the
    // bookkeeping below.
    let at = if under_recorded {
        clock::now()
    } else {
        clock::Ticks(0)
    };
    thread::with(|local| {
        let shared = local.shared();
        let mut inner = local.inner()?;
        let inner = &mut *inner;
        FAST.with(|f| f.started(route.generation));
        if under_recorded {
            // The top frame is a sampled span recorded here, inheriting nothing (`FAST`):
            // its child is sampled (children follow), without asking the sampler.
            if let Some(top) = inner.frames.last() {
                let parent = top.ids;
                let ids = SpanIds {
                    trace_id: parent.trace_id,
                    span_id: inner.ids.span_id(),
                    sampled: true,
                    remote: false,
                };
                record_current(
                    shared,
                    inner,
                    route.generation,
                    Some(parent),
                    ids,
                    None,
                    name,
                    kind,
                    Vec::new,
                    None,
                    at,
                );
                return Some(ids.span_id);
            }
        }
        Some(other_than_under_recorded(shared, inner, route, name, kind))
    })
    .flatten()
}

/// [`under_current`] without attributes for a root, or a span under a span that inherited context
/// or is not sampled.
#[inline(never)]
fn other_than_under_recorded(
    shared: &ThreadShared,
    inner: &mut Inner,
    route: &'static Route,
    name: &'static str,
    kind: SpanKind,
) -> SpanId {
    let Sampled {
        parent,
        ids,
        inherited,
    } = match decide_under_top(inner, route) {
        Ok(sampled) => sampled,
        Err(unrecorded) => return unrecorded,
    };
    let more = more(&inherited, Vec::new(), 0);
    record_current(
        shared,
        inner,
        route.generation,
        parent,
        ids,
        inherited,
        name,
        kind,
        Vec::new,
        more,
        clock::now(),
    );
    ids.span_id
}

/// A span the built-in sampler decided to record, under the top frame (if any).
struct Sampled {
    parent: Option<SpanIds>,
    ids: SpanIds,
    inherited: Option<Arc<Inherited>>,
}

/// New ids under the top frame (if any) and the built-in sampler's decision; not sampled,
/// the span id of the frame pushed for it (shared by its children when they follow their
/// parent).
#[inline(always)]
fn decide_under_top(inner: &mut Inner, route: &Route) -> Result<Sampled, SpanId> {
    let parent = inner.frames.last().map(|f| f.ids);
    let ids = new_ids(&mut inner.ids, parent.as_ref());
    let inherited = inner.frames.last().and_then(|f| f.inherited.clone());
    if !matches!(route.sampler.fast(parent.as_ref(), ids.trace_id), Ok(true)) {
        let shares = route.sampler.children_follow_parent();
        inner.push_in_place(ids, inherited, Target::Unrecorded, shares);
        return Err(ids.span_id);
    }
    Ok(Sampled {
        parent,
        ids: SpanIds { sampled: true, ..ids },
        inherited,
    })
}

/// [`under_current`] with attributes: decided under a borrow, attributes (user code) evaluated with
/// the engine's state released, then recorded.
#[inline(never)]
fn with_attributes<L: AttributeList>(
    route: &'static Route,
    name: &'static str,
    kind: SpanKind,
    attributes: impl FnOnce() -> L,
) -> Option<SpanId> {
    thread::with(|local| {
        let shared = local.shared();
        let Sampled {
            parent,
            ids,
            inherited,
        } = {
            let mut inner = local.inner()?;
            let inner = &mut *inner;
            FAST.with(|f| f.started(route.generation));
            match decide_under_top(inner, route) {
                Ok(sampled) => sampled,
                Err(unrecorded) => return Some(unrecorded),
            }
        };
        let limits = crate::engine::limits::current();
        let (attributes, dropped) =
            crate::engine::record::convert_attributes(attributes(), &limits, limits.attribute_count);
        let more = more(&inherited, Vec::new(), dropped);
        let mut inner = local.inner()?;
        record_current(
            shared,
            &mut inner,
            route.generation,
            parent,
            ids,
            inherited,
            name,
            kind,
            || attributes,
            more,
            clock::now(),
        );
        Some(ids.span_id)
    })
    .flatten()
}

/// Writes a sampled span's record into this thread's buffer and pushes its frame, both in
/// place.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn record_current(
    shared: &ThreadShared,
    inner: &mut Inner,
    generation: u64,
    parent: Option<SpanIds>,
    ids: SpanIds,
    inherited: Option<Arc<Inherited>>,
    name: &'static str,
    kind: SpanKind,
    attributes: impl FnOnce() -> Vec<Attr>,
    more: Option<Box<More>>,
    at: clock::Ticks,
) {
    // Decided before the buffer is opened: after that call the compiler no longer knows
    // what `inherited` holds (it stays in memory for the unwinding path).
    let top = Top::of(false, &Target::Local(0), inherited.is_none());
    let records = &mut buffer::open(shared, inner, generation).records;
    let index = records.len();
    records.reserve(1);
    let slot = records.spare_capacity_mut()[0].as_mut_ptr();
    // Field by field: a record built whole on the stack and copied stalls on store
    // forwarding.
    // SAFETY: `slot` is the (uninitialised) slot past the end; every field is written.
    unsafe {
        use std::ptr::addr_of_mut;
        addr_of_mut!((*slot).trace_id).write(ids.trace_id);
        addr_of_mut!((*slot).span_id).write(ids.span_id);
        addr_of_mut!((*slot).parent_id).write(parent.map_or(SpanId::INVALID, |p| p.span_id));
        addr_of_mut!((*slot).start).write(at);
        addr_of_mut!((*slot).end).write(at);
        addr_of_mut!((*slot).name).write(SmallStr::from_static(name));
        addr_of_mut!((*slot).attributes).write(attributes());
        addr_of_mut!((*slot).more).write(more);
        addr_of_mut!((*slot).kind).write(kind);
        addr_of_mut!((*slot).state).write(State::Open);
        addr_of_mut!((*slot).parent_remote).write(parent.is_some_and(|p| p.remote));
        addr_of_mut!((*slot).sampled).write(true);
    }
    // SAFETY: the slot past the end was just written.
    unsafe { records.set_len(index + 1) };
    inner.frames.reserve(1);
    let frame = inner.frames.spare_capacity_mut()[0].as_mut_ptr();
    // Field by field, as the record above and as `Inner::push_in_place` (written out here:
    // through that function this path measured 10 instructions longer).
    // SAFETY: `frame` is the (uninitialised) slot past the end; every field is written.
    unsafe {
        use std::ptr::addr_of_mut;
        addr_of_mut!((*frame).ids).write(ids);
        addr_of_mut!((*frame).inherited).write(inherited);
        addr_of_mut!((*frame).target).write(Target::Local(index));
        addr_of_mut!((*frame).otel).write(None);
        addr_of_mut!((*frame).shares).write(false);
        addr_of_mut!((*frame).top).write(top);
    }
    let depth = inner.frames.len();
    // SAFETY: as above.
    unsafe { inner.frames.set_len(depth + 1) };
    FAST.with(|f| f.top.set(top));
}

/// [`general`] under the current span.
#[cold]
#[inline(never)]
fn general_under_current<L: AttributeList>(
    route: &'static Route,
    name: SmallStr,
    kind: SpanKind,
    attributes: impl FnOnce() -> L,
) -> Option<SpanId> {
    match general(route, Parentage::Current, name, kind, attributes, Vec::new()) {
        Started::Current(span_id) => Some(span_id),
        _ => None,
    }
}

/// The general branch: a custom sampler, the bridge, a given parent, or links. Out of line,
/// so the common path stays small.
#[cold]
#[inline(never)]
fn general<L: AttributeList>(
    route: &'static Route,
    parent: Parentage,
    name: SmallStr,
    kind: SpanKind,
    attributes: impl FnOnce() -> L,
    links: Vec<crate::engine::record::LinkRecord>,
) -> Started {
    thread::with(|local| {
        let shared = local.shared();
        let (parent, root_inherited, ids) = {
            let mut inner = local.inner()?;
            let (parent, root_inherited) = match parent {
                Parentage::Given(parent, root_inherited) => (parent, root_inherited),
                Parentage::Current | Parentage::CurrentIfAny => (
                    local::top_parent(&inner).or_else(crate::engine::bridge::otel_parent),
                    None,
                ),
            };
            let ids = new_ids(&mut inner.ids, parent.as_ref().map(|p| &p.ids));
            FAST.with(|f| f.started(route.generation));
            (parent, root_inherited, ids)
        };
        let begun = match decide(route, parent, root_inherited, ids, name, kind, attributes, links) {
            Begin::Unrecorded(ids, inherited) => {
                local::push(local, Frame::new(ids, inherited, Target::Unrecorded));
                return Some(ids.span_id);
            }
            Begin::Recorded(begun) => begun,
        };
        let mut frame = Frame::new(begun.start.ids, begun.inherited, Target::Unrecorded);
        crate::engine::bridge::attach(&mut frame);
        let span_id = begun.start.ids.span_id;
        let at = clock::now();
        let mut inner = local.inner()?;
        let index = buffer::push(
            shared,
            &mut inner,
            route.generation,
            Record::start(begun.start, at),
        );
        frame.target = Target::Local(index);
        inner.push(frame);
        Some(span_id)
    })
    .flatten()
    .map_or_else(|| Started::Nothing, Started::Current)
}

/// Trace id from the parent (or new), a new span id.
#[inline]
pub(super) fn new_ids(generator: &mut IdGenerator, parent: Option<&SpanIds>) -> SpanIds {
    let trace_id = match parent {
        Some(p) => p.trace_id,
        None => generator.trace_id(),
    };
    SpanIds {
        trace_id,
        span_id: generator.span_id(),
        sampled: false,
        remote: false,
    }
}
