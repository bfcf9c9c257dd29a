//! Frames: the stack of current spans of one thread, and what a span hands its children.

use std::ptr::NonNull;
use std::sync::Arc;

use opentelemetry::baggage::Baggage;

use super::cell::SpanCell;
use super::ids::SpanIds;
use crate::tracestate::TraceState;

/// A copy of `baggage` (the type is not `Clone`).
pub(crate) fn copy_baggage(baggage: &Baggage) -> Baggage {
    baggage
        .iter()
        .map(|(k, (v, m))| (k.clone(), (v.clone(), m.clone())))
        .collect()
}

/// What a span passes to its children besides ids: the W3C `tracestate` and the baggage that
/// came with the request. Shared, since nearly every span has none.
#[derive(Debug, Default)]
pub(crate) struct Inherited {
    pub trace_state: Option<TraceState>,
    pub baggage: Option<Baggage>,
}

impl Inherited {
    /// `None` when there is nothing to carry.
    pub(crate) fn shared(trace_state: Option<TraceState>, baggage: Option<Baggage>) -> Option<Arc<Self>> {
        let baggage = baggage.filter(|b| !b.is_empty());
        (trace_state.is_some() || baggage.is_some()).then(|| Arc::new(Inherited { trace_state, baggage }))
    }

    pub(crate) fn trace_state(inherited: &Option<Arc<Self>>) -> Option<&TraceState> {
        inherited.as_ref().and_then(|i| i.trace_state.as_ref())
    }
}

/// Where the record of a current span is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    /// Not sampled: nothing to record.
    Unrecorded,
    /// In this thread's buffer, at this index.
    Local(usize),
    /// In the buffer of another thread (the span was made current here by
    /// `in_current_span`): operations go to that thread's mailbox.
    Thread(u64),
    /// Behind the lock of a [`SpanCell`], kept alive by whoever pushed the frame (the guard
    /// or the future holds the `Arc` until the frame is popped).
    Cell(NonNull<SpanCell>),
}

/// One current span of this thread.
#[derive(Debug)]
pub(crate) struct Frame {
    pub ids: SpanIds,
    pub inherited: Option<Arc<Inherited>>,
    pub target: Target,
    /// The OpenTelemetry context made current beside this frame, when bridging is on.
    pub otel: Option<opentelemetry::ContextGuard>,
    /// Spans started under this one share this frame (it is not sampled, and so are they).
    pub shares: bool,
    /// [`Frame::kind`], kept when pushed.
    pub top: Top,
}

/// The fields that the in-place writers (`Inner::push_in_place`, `local::record_current`)
/// write one by one: adding a field to [`Frame`] stops this compiling until they write it too.
#[allow(dead_code)]
fn written_in_place(frame: Frame) {
    let Frame {
        ids: _,
        inherited: _,
        target: _,
        otel: _,
        shares: _,
        top: _,
    } = frame;
}

impl Frame {
    pub(crate) fn new(ids: SpanIds, inherited: Option<Arc<Inherited>>, target: Target) -> Self {
        Frame {
            ids,
            inherited,
            target,
            otel: None,
            shares: false,
            top: Top::Other,
        }
    }

    /// This frame, shared by the spans started under it when `shares`.
    pub(crate) fn sharing(self, shares: bool) -> Self {
        Frame { shares, ..self }
    }

    /// What the shortest paths need to know of this frame (`thread::Fast::top`).
    #[inline]
    pub(crate) fn kind(&self) -> Top {
        Top::of(
            self.shares,
            &self.target,
            self.inherited.is_none() && self.otel.is_none(),
        )
    }
}

/// What a frame is to the shortest paths, which read it for the top frame without borrowing
/// the thread's state (`thread::Fast::top`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Top {
    /// None of the below (or no frame at all).
    Other,
    /// Not sampled; spans started under it share it.
    Shares,
    /// A sampled span recorded in this thread's buffer that hands nothing down (no inherited
    /// context, no OpenTelemetry context): its children are written straight after it.
    Recorded,
}

impl Top {
    /// The one place a frame's kind is decided: whether spans under it share it, where its
    /// record is, and whether it hands down nothing besides its ids.
    #[inline(always)]
    pub(crate) fn of(shares: bool, target: &Target, plain: bool) -> Top {
        if shares {
            Top::Shares
        } else if matches!(target, Target::Local(_)) && plain {
            Top::Recorded
        } else {
            Top::Other
        }
    }
}

/// A span to hang a new span under.
#[derive(Clone, Debug)]
pub(crate) struct Parent {
    pub ids: SpanIds,
    pub inherited: Option<Arc<Inherited>>,
}
