//! This thread's engine state: its stack of frames, id generator and hold on its record
//! buffer (`LOCAL`), and the few words the shortest paths read without borrowing it
//! (`FAST`: whether the current span's children share its frame, and the span counts).

use std::cell::{Cell, RefCell, RefMut};
use std::mem::ManuallyDrop;
use std::sync::Arc;

use super::frame::{Frame, Inherited, Target, Top};
use super::ids::{IdGenerator, SpanId, SpanIds};
use super::record::Record;
use super::registry;
use super::route;
use super::shared::{Hold, ThreadShared};

pub(crate) struct Local {
    /// This thread's shared state: null until its first span; then one strong count of the
    /// `Arc` the registry also holds (`Arc::into_raw`), given back when the thread exits and
    /// replaced by [`RETIRED`], so an exited thread leaves nothing behind and never
    /// registers again. (A raw pointer because `LOCAL` has no destructor and is only ever
    /// borrowed shared: an `OnceCell` could not be emptied at exit.)
    shared: Cell<*const ThreadShared>,
    inner: RefCell<Inner>,
}

pub(crate) struct Inner {
    pub frames: Vec<Frame>,
    pub ids: IdGenerator,
    /// [`READY`] once `ids` is seeded (a `const` thread-local starts unseeded), [`EXITED`]
    /// once the thread has retired its state.
    phase: u8,
    /// This thread holds its buffer (from its first record until its stack empties).
    pub hold: Option<Hold>,
    /// The flush epoch this thread last handed its buffer over at.
    pub epoch: u64,
    /// An empty buffer, ready to replace the one handed over.
    pub spare: Vec<Record>,
}

/// Where in the buffer the record of the open sync span `span_id` is, by `frames`.
pub(crate) fn local_index(frames: &[Frame], span_id: SpanId) -> Option<usize> {
    frames.iter().rev().find_map(|f| match f.target {
        Target::Local(i) if f.ids.span_id == span_id => Some(i),
        _ => None,
    })
}

/// Read and written without a borrow: plain cells of a `const` thread-local that has no
/// destructor, so an access is one instruction.
pub(crate) struct Fast {
    /// What the current frame is, for the shortest paths ([`Top`]).
    pub top: Cell<Top>,
    /// Spans started and ended on this thread, for the global pipeline of `generation`;
    /// published to [`ThreadShared`] when the stack empties.
    started: Cell<u64>,
    ended: Cell<u64>,
    generation: Cell<u64>,
}

/// What an exited thread's `Local::shared` points at: never registered, its buffer never
/// taken (an exited thread's `inner()` is `None`); it only absorbs the counts that thread-local
/// destructors running after the exit publish.
static RETIRED: ThreadShared = ThreadShared::new(0);

const UNSEEDED: u8 = 0;
const READY: u8 = 1;
const EXITED: u8 = 2;

thread_local! {
    // `const` and without a destructor (`ManuallyDrop`): an access is an address, with no
    // lazy initialisation or "destroyed yet?" check. `EXIT` cleans it up when the thread
    // ends.
    static LOCAL: ManuallyDrop<Local> = const {
        ManuallyDrop::new(Local {
            shared: Cell::new(std::ptr::null()),
            inner: RefCell::new(Inner {
                frames: Vec::new(),
                ids: IdGenerator::unseeded(),
                phase: UNSEEDED,
                hold: None,
                epoch: 0,
                spare: Vec::new(),
            }),
        })
    };

    /// Retires `LOCAL` at thread exit; registered by the thread's first span.
    static EXIT: Exit = const { Exit };

    pub(crate) static FAST: Fast = const {
        Fast {
            top: Cell::new(Top::Other),
            started: Cell::new(0),
            ended: Cell::new(0),
            generation: Cell::new(0),
        }
    };
}

/// Runs `f` with this thread's state.
#[inline]
pub(crate) fn with<T>(f: impl FnOnce(&Local) -> T) -> Option<T> {
    LOCAL.try_with(|l| f(l)).ok()
}

impl Local {
    /// The part of this thread's state that other threads see (registered on first use).
    #[inline]
    pub(crate) fn shared(&self) -> &ThreadShared {
        let shared = self.shared.get();
        if shared.is_null() {
            return self.register();
        }
        // SAFETY: not null: this thread's strong count, released only by `retire` (after
        // which it is `RETIRED`, a static). `retire` runs as a thread-local destructor, when
        // no engine call is under way on this thread, so no reference from here outlives it.
        unsafe { &*shared }
    }

    /// The shared part, if this thread has registered (and not exited).
    pub(crate) fn registered(&self) -> Option<&ThreadShared> {
        let shared = self.shared.get();
        if shared.is_null() || std::ptr::eq(shared, &RETIRED) {
            return None;
        }
        // SAFETY: as in `shared`.
        Some(unsafe { &*shared })
    }

    #[cold]
    fn register(&self) -> &ThreadShared {
        // Touching `EXIT` registers its destructor.
        let _ = EXIT.try_with(|_| ());
        self.shared.set(Arc::into_raw(registry::register()));
        self.shared()
    }

    /// The state, unless this thread is already inside the engine (a logger or a `Drop`
    /// that makes spans while we work: such re-entrant spans are not recorded) or exiting.
    #[inline]
    pub(crate) fn inner(&self) -> Option<RefMut<'_, Inner>> {
        let mut inner = self.inner.try_borrow_mut().ok()?;
        if inner.phase != READY && !inner.prepare() {
            return None;
        }
        Some(inner)
    }

    /// The state for reading (queries of the current span).
    pub(crate) fn peek(&self) -> Option<std::cell::Ref<'_, Inner>> {
        self.inner.try_borrow().ok()
    }
}

impl Inner {
    /// Seeds the id generator before the first span; false once the thread has exited.
    #[cold]
    fn prepare(&mut self) -> bool {
        if self.phase == EXITED {
            return false;
        }
        self.ids.reseed();
        self.phase = READY;
        true
    }

    /// Pushes a frame.
    #[inline]
    pub(crate) fn push(&mut self, mut frame: Frame) {
        frame.top = frame.kind();
        let top = frame.top;
        self.frames.push(frame);
        FAST.with(|f| f.top.set(top));
    }

    /// Pushes a frame (without an OpenTelemetry context; `shares`: spans started under it
    /// share it) written field by field into the stack's spare slot: a frame built whole and
    /// then copied is read back with wide loads right after its narrow stores, which stalls
    /// the CPU (store forwarding).
    #[inline(always)]
    pub(crate) fn push_in_place(
        &mut self,
        ids: SpanIds,
        inherited: Option<Arc<Inherited>>,
        target: Target,
        shares: bool,
    ) {
        let top = Top::of(shares, &target, inherited.is_none());
        self.frames.reserve(1);
        let frame = self.frames.spare_capacity_mut()[0].as_mut_ptr();
        // SAFETY: `frame` is the (uninitialised) slot past the end; every field is written.
        unsafe {
            use std::ptr::addr_of_mut;
            addr_of_mut!((*frame).ids).write(ids);
            addr_of_mut!((*frame).inherited).write(inherited);
            addr_of_mut!((*frame).target).write(target);
            addr_of_mut!((*frame).otel).write(None);
            addr_of_mut!((*frame).shares).write(shares);
            addr_of_mut!((*frame).top).write(top);
        }
        let depth = self.frames.len();
        // SAFETY: the slot past the end was just written.
        unsafe { self.frames.set_len(depth + 1) };
        FAST.with(|f| f.top.set(top));
    }

    /// Where in this thread's buffer the record of the open sync span `span_id` is.
    pub(crate) fn local_index(&self, span_id: SpanId) -> Option<usize> {
        local_index(&self.frames, span_id)
    }

    /// The top frame changed (popped or removed): tells `FAST`.
    #[inline]
    pub(crate) fn top_changed(&self) {
        let top = self.frames.last().map_or(Top::Other, |f| f.top);
        FAST.with(|f| f.top.set(top));
    }
}

impl Fast {
    /// Counts a span start for pipeline `generation` (restarting the counts for a new one).
    #[inline]
    pub(crate) fn started(&self, generation: u64) {
        self.count_for(generation);
        self.started.set(self.started.get() + 1);
    }

    /// Counts a span end for pipeline `generation` (a thread may only end spans: futures
    /// started elsewhere).
    #[inline]
    pub(crate) fn ended(&self, generation: u64) {
        self.count_for(generation);
        self.ended_here();
    }

    /// Counts the end of a span started on this thread, for the pipeline counted already.
    #[inline]
    pub(crate) fn ended_here(&self) {
        self.ended.set(self.ended.get() + 1);
    }

    /// Restarts the counts when `generation` is a new pipeline.
    #[inline]
    fn count_for(&self, generation: u64) {
        if self.generation.get() != generation {
            self.generation.set(generation);
            self.started.set(0);
            self.ended.set(0);
        }
    }

    /// Makes the counts visible to `stats()` on other threads.
    pub(crate) fn publish(&self, shared: &ThreadShared) {
        shared.publish(self.generation.get(), self.started.get(), self.ended.get());
    }
}

/// Publishes this thread's counts (for `stats()` called on it).
pub(crate) fn publish_counts() {
    let _ = LOCAL.try_with(|l| {
        if let Some(shared) = l.registered() {
            let _ = FAST.try_with(|f| f.publish(shared));
        }
    });
}

/// This thread's token, as span handles name their owner (`None` for a thread that never
/// traced: it holds no span, and asking does not register it).
pub(crate) fn token() -> Option<u64> {
    LOCAL.try_with(|l| l.registered().map(|s| s.token)).ok().flatten()
}

/// Retires this thread's state when the thread exits.
struct Exit;

impl Drop for Exit {
    fn drop(&mut self) {
        let _ = LOCAL.try_with(|l| l.retire());
    }
}

impl Local {
    /// The thread is exiting: its ended records go to the queue, its counts to the
    /// pipeline, its memory is freed, and it leaves the registry. Spans made later (by other
    /// thread-local destructors) are not recorded.
    fn retire(&self) {
        let Some(shared) = self.registered() else { return };
        let Ok(mut inner) = self.inner.try_borrow_mut() else {
            return;
        };
        inner.phase = EXITED;
        let _ = FAST.try_with(|f| f.publish(shared));
        let mut hold = inner.hold.take().unwrap_or_else(|| shared.acquire());
        let frames = std::mem::take(&mut inner.frames);
        let spare = std::mem::take(&mut inner.spare);
        drop(inner);
        drop((frames, spare));
        let buffer = shared.buffer(&mut hold);
        let mut records = std::mem::take(&mut buffer.records);
        records.retain(Record::exportable);
        // Read before the release: after it, the export thread may hold the buffer.
        let generation = buffer.generation;
        shared.release(hold);
        if let Some(pipeline) = route::global() {
            if pipeline.generation == generation && !records.is_empty() {
                drop(pipeline.exchange(records));
            }
            let (started, ended) = shared.counters(pipeline.generation);
            pipeline.retire_counts(started, ended);
        }
        registry::unregister(shared.token);
        let own = self.shared.replace(&RETIRED);
        // SAFETY: `own` came from `Arc::into_raw` in `register` and is given back once (it
        // is `RETIRED` from now on); `shared` is not used after this.
        drop(unsafe { Arc::from_raw(own) });
    }
}
