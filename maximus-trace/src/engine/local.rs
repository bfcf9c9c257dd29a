//! The current span of this thread, and the spans recorded on it.
//!
//! A sync span (`span!`, `#[trace_span]`, `SpanBuilder::entered`) is recorded into this
//! thread's buffer when it starts: its record is written once, in place, and its frame on
//! the stack remembers the index; ending it stores the end time. Spans recorded elsewhere
//! (futures, owned spans) are made current by pushing a frame that points at them.
//!
//! A span started under a span that is not sampled (with a sampler whose children follow
//! their parent) records nothing and shares its parent's frame: no id, no push, no pop. Only
//! its trace id would be observable, and that is the parent's anyway.

use std::ptr::NonNull;
use std::sync::Arc;

use super::bridge;
use super::buffer;
use super::clock;
use super::frame::{Frame, Inherited, Parent, Target};
use super::handle::{EndCount, Handle, RecordRef};
use super::ids::{IdGenerator, SpanId, SpanIds};
use super::record::{Attr, LinkRecord, More, Record, State};
use crate::model::SmallStr;
use super::start::{Begin, decide, more};
use super::thread::{self, FAST, Inner, Local, TOP_RECORDED, TOP_SHARES};
use super::route::{self, Route};

pub(crate) use super::buffer::{bump_epoch, deliver, flush_this_thread};
pub(crate) use super::thread::{publish_counts, token};

// ---- reading the current span ----

/// The span a new span hangs under by default: the current frame, else (when bridging) the
/// OpenTelemetry context's span.
pub(crate) fn parent() -> Option<Parent> {
    let top = thread::with(|l| top_parent(&*l.peek()?)).flatten();
    top.or_else(bridge::otel_parent)
}

/// The top frame, as a parent.
fn top_parent(inner: &Inner) -> Option<Parent> {
    inner.frames.last().map(|f| Parent {
        ids: f.ids,
        inherited: f.inherited.clone(),
    })
}

/// The ids of the current span, as [`parent`] finds it (so log lines name the span that
/// `inject` propagates).
pub(crate) fn current_ids() -> Option<SpanIds> {
    thread::with(|l| l.peek()?.frames.last().map(|f| f.ids))
        .flatten()
        .or_else(|| bridge::otel_parent().map(|p| p.ids))
}

/// A handle on the current span, for `Span::current()`.
pub(crate) fn current() -> Option<Handle> {
    thread::with(|l| Some(handle(l, l.peek()?.frames.last()?))).flatten()
}

/// A handle on the span of `frame`, one of this thread's.
fn handle(local: &Local, frame: &Frame) -> Handle {
    Handle {
        ids: frame.ids,
        inherited: frame.inherited.clone(),
        record: record_ref(local, frame.target),
    }
}

/// How a handle reaches the record a frame points at.
fn record_ref(local: &Local, target: Target) -> RecordRef {
    match target {
        Target::Unrecorded => RecordRef::Unrecorded(EndCount::Done),
        Target::Local(_) => RecordRef::Thread(local.shared().token),
        Target::Thread(owner) => RecordRef::Thread(owner),
        // SAFETY: the frame's pusher keeps the `Arc` alive while the frame exists.
        Target::Cell(ptr) => RecordRef::Cell(unsafe {
            Arc::increment_strong_count(ptr.as_ptr());
            Arc::from_raw(ptr.as_ptr())
        }),
    }
}

/// A handle on this thread's span `span_id` (for a guard's `span()`).
pub(crate) fn handle_of(span_id: SpanId) -> Option<Handle> {
    thread::with(|local| {
        let inner = local.peek()?;
        let frame = inner.frames.iter().rev().find(|f| f.ids.span_id == span_id)?;
        Some(handle(local, frame))
    })
    .flatten()
}

// ---- sync spans: recorded into this thread's buffer ----

/// A span about to start under a span whose children share its frame: counts it (started
/// and, since it holds nothing, ended) and says so. Inline: a thread-local load and a branch
/// when the answer is no.
#[inline(always)]
pub(crate) fn share_frame() -> bool {
    FAST.with(|f| {
        if f.top.get() != TOP_SHARES {
            return false;
        }
        let generation = route::global_generation();
        f.started(generation);
        f.ended(generation);
        true
    })
}

/// [`share_frame`] for a future: the shared frame's ids (to make current when the future is
/// polled elsewhere).
pub(crate) fn share_frame_ids() -> Option<(SpanIds, Option<Arc<Inherited>>)> {
    if FAST.with(|f| f.top.get()) != TOP_SHARES {
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

/// Whether `span_id`'s frame is the current one on this thread.
pub(crate) fn is_current(span_id: SpanId) -> bool {
    thread::with(|l| {
        l.peek()
            .is_some_and(|i| i.frames.last().is_some_and(|f| f.ids.span_id == span_id))
    })
    .unwrap_or(false)
}

/// Makes the ids of a span that shares its parent's frame current (a future polled away
/// from that frame), until [`pop`].
pub(crate) fn push_shared(ids: SpanIds, inherited: Option<Arc<Inherited>>) {
    thread::with(|l| push(l, Frame::new(ids, inherited, Target::Unrecorded).sharing(true)));
}

/// Starts a span of the global pipeline under the current one and makes it current: what
/// `span!` and a sync `#[trace_span]` run. With a built-in sampler and no bridge it is
/// decided, recorded and pushed under one borrow, the common case (under a sampled span of
/// this thread, no attributes) straight through.
#[inline]
pub(crate) fn enter_current<const N: usize>(
    pipeline: &'static Route,
    name: &'static str,
    kind: crate::SpanKind,
    attributes: impl FnOnce() -> [crate::KeyValue; N],
) -> Option<SpanId> {
    if !pipeline.short_path {
        return enter_general(pipeline, name, kind, attributes);
    }
    if N > 0 {
        return enter_with_attributes(pipeline, name, kind, attributes);
    }
    let under_recorded = pipeline.children_follow && FAST.with(|f| f.top.get()) == TOP_RECORDED;
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
        FAST.with(|f| f.started(pipeline.generation));
        if under_recorded {
            // The top frame is a sampled span recorded here, inheriting nothing (`FAST`).
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
                    pipeline.generation,
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
        Some(enter_current_other(shared, inner, pipeline, name, kind))
    })
    .flatten()
}

/// [`enter_current`] without attributes for a root, or a span under a span that inherited
/// context or is not sampled.
#[inline(never)]
fn enter_current_other(
    shared: &super::shared::ThreadShared,
    inner: &mut Inner,
    pipeline: &'static Route,
    name: &'static str,
    kind: crate::SpanKind,
) -> SpanId {
    let Sampled {
        parent,
        ids,
        inherited,
    } = match decide_under_top(inner, pipeline) {
        Ok(sampled) => sampled,
        Err(unrecorded) => return unrecorded,
    };
    let more = more(&inherited, Vec::new(), 0);
    record_current(
        shared,
        inner,
        pipeline.generation,
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
fn decide_under_top(inner: &mut Inner, pipeline: &Route) -> Result<Sampled, SpanId> {
    let parent = inner.frames.last().map(|f| f.ids);
    let ids = new_ids(&mut inner.ids, parent.as_ref());
    let inherited = inner.frames.last().and_then(|f| f.inherited.clone());
    if !matches!(pipeline.sampler.fast(parent.as_ref(), ids.trace_id), Ok(true)) {
        let shares = pipeline.sampler.children_follow_parent();
        inner.push_in_place(ids, inherited, Target::Unrecorded, shares);
        return Err(ids.span_id);
    }
    Ok(Sampled {
        parent,
        ids: SpanIds { sampled: true, ..ids },
        inherited,
    })
}

/// [`enter_current`] with attributes: decided under a borrow, attributes (user code)
/// evaluated with the engine's state released, then recorded.
#[inline(never)]
fn enter_with_attributes<const N: usize>(
    pipeline: &'static Route,
    name: &'static str,
    kind: crate::SpanKind,
    attributes: impl FnOnce() -> [crate::KeyValue; N],
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
            FAST.with(|f| f.started(pipeline.generation));
            match decide_under_top(inner, pipeline) {
                Ok(sampled) => sampled,
                Err(unrecorded) => return Some(unrecorded),
            }
        };
        let limits = super::limits::current();
        let (attributes, dropped) =
            super::record::convert_attributes(attributes(), &limits, limits.attribute_count);
        let more = more(&inherited, Vec::new(), dropped);
        let mut inner = local.inner()?;
        record_current(
            shared,
            &mut inner,
            pipeline.generation,
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
    shared: &super::shared::ThreadShared,
    inner: &mut Inner,
    generation: u64,
    parent: Option<SpanIds>,
    ids: SpanIds,
    inherited: Option<Arc<Inherited>>,
    name: &'static str,
    kind: crate::SpanKind,
    attributes: impl FnOnce() -> Vec<Attr>,
    more: Option<Box<More>>,
    at: clock::Ticks,
) {
    let index = buffer::open(shared, inner, generation);
    // SAFETY: `open` took the buffer for this thread.
    let records = &mut unsafe { shared.buffer() }.records;
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
    let top = if inherited.is_none() {
        TOP_RECORDED
    } else {
        super::thread::TOP_OTHER
    };
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

/// [`enter_current`] with a custom sampler or the bridge: out of line, so the common path
/// stays small.
#[cold]
#[inline(never)]
fn enter_general<const N: usize>(
    pipeline: &'static Route,
    name: &'static str,
    kind: crate::SpanKind,
    attributes: impl FnOnce() -> [crate::KeyValue; N],
) -> Option<SpanId> {
    enter(
        pipeline,
        None,
        SmallStr::from_static(name),
        kind,
        attributes,
        Vec::new(),
    )
}

/// Starts a span of the global pipeline and makes it current (`parent: None`: under the
/// current span), whatever the sampler: `SpanBuilder::entered`, and `span!` with a custom
/// sampler or the bridge. `None` inside the engine or at thread exit.
pub(crate) fn enter<I>(
    pipeline: &'static Route,
    parent: Option<(Option<Parent>, Option<Arc<Inherited>>)>,
    name: SmallStr,
    kind: crate::SpanKind,
    attributes: impl FnOnce() -> I,
    links: Vec<LinkRecord>,
) -> Option<SpanId>
where
    I: IntoIterator<Item = crate::KeyValue>,
{
    thread::with(|local| {
        let shared = local.shared();
        let (parent, root_inherited, ids) = {
            let mut inner = local.inner()?;
            let (parent, root_inherited) = match parent {
                Some(given) => given,
                None => (top_parent(&inner).or_else(bridge::otel_parent), None),
            };
            let ids = new_ids(&mut inner.ids, parent.as_ref().map(|p| &p.ids));
            FAST.with(|f| f.started(pipeline.generation));
            (parent, root_inherited, ids)
        };
        let begun = match decide(
            pipeline,
            parent,
            root_inherited,
            ids,
            name,
            kind,
            attributes,
            links,
        ) {
            Begin::Unrecorded(ids, inherited) => {
                push(local, Frame::new(ids, inherited, Target::Unrecorded));
                return Some(ids.span_id);
            }
            Begin::Recorded(begun) => begun,
        };
        let mut frame = Frame::new(begun.start.ids, begun.inherited, Target::Unrecorded);
        bridge::attach(&mut frame);
        let span_id = begun.start.ids.span_id;
        let at = clock::now();
        let mut inner = local.inner()?;
        let index = buffer::push(
            shared,
            &mut inner,
            pipeline.generation,
            Record::start(begun.start, at),
        );
        frame.target = Target::Local(index);
        inner.push(frame);
        Some(span_id)
    })
    .flatten()
}

/// Trace id from the parent (or new), a new span id.
#[inline]
fn new_ids(generator: &mut IdGenerator, parent: Option<&SpanIds>) -> SpanIds {
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

/// New ids for a span started outside [`enter`] (a builder or a future).
pub(crate) fn generate_ids(parent: Option<&Parent>) -> SpanIds {
    let parent = parent.map(|p| &p.ids);
    thread::with(|l| match l.inner() {
        Some(mut inner) => new_ids(&mut inner.ids, parent),
        None => new_ids(&mut IdGenerator::new(), parent),
    })
    .unwrap_or_else(|| new_ids(&mut IdGenerator::new(), parent))
}

/// Counts the start of a span under `parent` for the global pipeline and gives it its ids
/// (one visit to this thread's state).
pub(crate) fn child_ids(pipeline: &Route, parent: &SpanIds) -> SpanIds {
    let span_id = thread::with(|l| {
        FAST.with(|f| f.started(pipeline.generation));
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
/// start counted): [`parent`] and [`child_ids`] in one visit, for a parent-based sampler.
/// `None` without a frame here (the caller then tries the bridge).
///
/// Under a local span that records nothing, the child (which records nothing either) takes
/// the parent's ids, as a sync span shares its parent's frame: a future polled where that
/// parent is current then pushes no frame of its own (`InSpan`). Its span id, in
/// `Span::span_id()`, logs and the `traceparent` it propagates, is the parent's. A parent
/// that records without being sampled (a custom sampler's "record only") is not shared: its
/// frame points at its record, and a second frame with its id could be popped in its place.
pub(crate) fn child_of_current(pipeline: &Route) -> Option<(Parent, SpanIds)> {
    thread::with(|l| {
        let mut inner = l.inner()?;
        let inner = &mut *inner;
        let top = inner.frames.last()?;
        let parent = Parent {
            ids: top.ids,
            inherited: top.inherited.clone(),
        };
        let shares = matches!(top.target, Target::Unrecorded) && !top.ids.sampled && !top.ids.remote;
        FAST.with(|f| f.started(pipeline.generation));
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

/// Counts a span started (or ended) for the global pipeline of `generation` on this thread.
pub(crate) fn count(started: bool, generation: u64) {
    let counted = thread::with(|l| {
        FAST.with(|f| {
            if started {
                f.started(generation);
            } else {
                f.ended(generation);
            }
        });
        if l.peek().is_some_and(|inner| inner.frames.is_empty()) {
            FAST.with(|f| f.publish(l.shared()));
        }
    });
    if counted.is_none() {
        if let Some(pipeline) = route::global().filter(|p| p.generation == generation) {
            if started {
                pipeline.count_started();
            } else {
                pipeline.count_ended();
            }
        }
    }
}

/// Ends the span `span_id` started by [`enter`] or [`enter_current`] and pops its frame.
/// Out of line (a guard's drop stays a compare and a call), everything else inside.
#[inline(never)]
pub(crate) fn exit(span_id: SpanId) {
    // Read first when the span ending is recorded here: the clock's latency then overlaps
    // the bookkeeping below.
    let recorded = FAST.with(|f| f.top.get()) == TOP_RECORDED;
    let at = if recorded { clock::now() } else { clock::Ticks(0) };
    thread::with(|local| {
        let Some(mut inner) = local.inner() else { return };
        match pop_plain(&mut inner, span_id) {
            Some(target) => ended(local, &mut inner, span_id, target, recorded.then_some(at)),
            None => {
                drop(inner);
                exit_slow(local, span_id);
            }
        }
    });
}

/// [`exit`] for a frame that owns something, or that is not on top (guards dropped out of
/// order).
#[cold]
#[inline(never)]
fn exit_slow(local: &Local, span_id: SpanId) {
    let Some(mut inner) = local.inner() else { return };
    let Some(frame) = pop_frame(&mut inner, span_id) else {
        return;
    };
    ended(local, &mut inner, span_id, frame.target, None);
    drop(inner);
    // What a frame owns (inherited context, an OpenTelemetry guard) is dropped outside the
    // borrow: an OpenTelemetry context may hold values whose drop runs user code.
    drop(frame);
}

/// Counts the end of a span whose frame was just popped, and ends its record if it has one
/// (stores the end time; hands the buffer over when due).
#[inline(always)]
fn ended(local: &Local, inner: &mut Inner, span_id: SpanId, target: Target, at: Option<clock::Ticks>) {
    FAST.with(|f| f.ended_here());
    if let Target::Local(index) = target {
        let at = at.unwrap_or_else(clock::now);
        let shared = local.shared();
        if shared.has_mail() || std::thread::panicking() {
            end_unusual(shared, inner, span_id, index);
        }
        // SAFETY: the span's frame was `Local`, so this thread holds its buffer.
        let buffer = unsafe { shared.buffer() };
        debug_assert!(
            index < buffer.records.len(),
            "a Local frame points into the buffer"
        );
        // SAFETY: frames are repointed whenever records move (hand-off, new generation).
        unsafe { buffer.records.get_unchecked_mut(index) }.finish(at);
        if buffer::due(buffer.records.len(), inner) {
            buffer::hand_off(shared, inner);
        }
    }
    if inner.frames.is_empty() {
        buffer::stack_emptied(local.shared(), inner);
    }
}

/// Before a record ends: operations other threads left for it, a panic unwinding through it.
#[cold]
fn end_unusual(shared: &super::shared::ThreadShared, inner: &mut Inner, span_id: SpanId, index: usize) {
    buffer::apply_mail(shared, inner, Some((span_id, index)));
    if std::thread::panicking() {
        // SAFETY: called from `ended`, which holds the buffer.
        crate::error::record_panic(&mut unsafe { shared.buffer() }.records[index]);
    }
}

/// Pops the top frame if it is `span_id`'s and owns nothing (no drop glue to run, the
/// common case): its target. `None`: the slow path ([`pop_frame`]) must do it.
#[inline(always)]
fn pop_plain(inner: &mut Inner, span_id: SpanId) -> Option<Target> {
    let top = inner.frames.last()?;
    if top.ids.span_id != span_id || top.inherited.is_some() || top.otel.is_some() {
        return None;
    }
    let target = top.target;
    let depth = inner.frames.len();
    // SAFETY: the rest of a frame is `Copy`; with nothing owned there is nothing to drop.
    unsafe { inner.frames.set_len(depth - 1) };
    inner.top_changed();
    Some(target)
}

/// Removes the frame of `span_id` (the top one, unless guards were dropped out of order).
fn pop_frame(inner: &mut Inner, span_id: SpanId) -> Option<Frame> {
    let frame = match inner.frames.last() {
        Some(top) if top.ids.span_id == span_id => inner.frames.pop()?,
        _ => {
            let at = inner.frames.iter().rposition(|f| f.ids.span_id == span_id)?;
            inner.frames.remove(at)
        }
    };
    inner.top_changed();
    Some(frame)
}

// ---- frames of spans recorded elsewhere (owned spans, futures) ----

/// Makes a span current on this thread.
fn push(local: &Local, mut frame: Frame) {
    bridge::attach(&mut frame);
    if let Some(mut inner) = local.inner() {
        inner.push(frame);
    }
}

/// Makes `handle`'s span current on this thread until [`pop`].
pub(crate) fn push_handle(handle: &Handle) {
    let target = match &handle.record {
        RecordRef::Unrecorded(_) => Target::Unrecorded,
        RecordRef::Thread(owner) => Target::Thread(*owner),
        RecordRef::Cell(cell) => Target::Cell(NonNull::from(&**cell)),
    };
    if bridge::on() {
        let frame = Frame::new(handle.ids, handle.inherited.clone(), target);
        thread::with(|l| push(l, frame));
        return;
    }
    thread::with(|l| {
        if let Some(mut inner) = l.inner() {
            inner.push_in_place(handle.ids, handle.inherited.clone(), target, false);
        }
    });
}

/// Takes `span_id`'s frame off this thread's stack (pushed by [`push_handle`]).
pub(crate) fn pop(span_id: SpanId) {
    thread::with(|local| {
        let Some(mut inner) = local.inner() else { return };
        if pop_plain(&mut inner, span_id).is_none() {
            drop(inner);
            return pop_slow(local, span_id);
        }
        if inner.frames.is_empty() {
            buffer::stack_emptied(local.shared(), &mut inner);
        }
    });
}

/// [`pop`] for a frame that owns something, or that is not on top.
#[cold]
#[inline(never)]
fn pop_slow(local: &Local, span_id: SpanId) {
    let Some(mut inner) = local.inner() else { return };
    let Some(frame) = pop_frame(&mut inner, span_id) else {
        return;
    };
    if inner.frames.is_empty() {
        buffer::stack_emptied(local.shared(), &mut inner);
    }
    drop(inner);
    // Dropped outside the borrow, as in `exit_slow`.
    drop(frame);
}

// ---- operations on this thread's recorded spans ----

/// Runs `f` on the open record of this thread's sync span `span_id`.
pub(crate) fn with_record<T>(span_id: SpanId, f: impl FnOnce(&mut Record) -> T) -> Option<T> {
    thread::with(|local| {
        let inner = local.inner()?;
        let index = inner.local_index(span_id)?;
        // SAFETY: a `Local` frame exists, so this thread holds its buffer.
        let buffer = unsafe { local.shared().buffer() };
        Some(f(&mut buffer.records[index]))
    })
    .flatten()
}

/// Moves this thread's open sync span `span_id` out of the buffer and off the stack (a
/// guard turning into an owned span).
pub(crate) fn take(span_id: SpanId) -> Option<Record> {
    thread::with(|local| {
        let mut inner = local.inner()?;
        let frame = pop_frame(&mut inner, span_id)?;
        let shared = local.shared();
        let record = match frame.target {
            // SAFETY: the frame was `Local`, so this thread holds its buffer.
            Target::Local(i) => Some(std::mem::replace(
                &mut unsafe { shared.buffer() }.records[i],
                Record::moved(),
            )),
            _ => None,
        };
        if inner.frames.is_empty() {
            buffer::stack_emptied(shared, &mut inner);
        }
        drop(inner);
        drop(frame);
        record
    })
    .flatten()
}
