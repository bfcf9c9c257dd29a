//! [`MockMaximus`]: starting, steering and stopping a mock server.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use http::Method;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::faults::Fault;
use crate::requests::RecordedRequest;
use crate::server;
use crate::state::AppState;
use crate::tracing::ServerTracing;

/// How a [`MockMaximus`] starts: `MockMaximus::builder().tracing(..).start().await`.
#[derive(Debug, Default)]
pub struct MockBuilder {
    tracing: ServerTracing,
}

impl MockBuilder {
    /// Where the server spans go (the global pipeline unless told otherwise).
    pub fn tracing(mut self, tracing: ServerTracing) -> Self {
        self.tracing = tracing;
        self
    }

    /// Starts the mock on `127.0.0.1` and a free port, as a task on the current tokio
    /// runtime.
    pub async fn start(self) -> io::Result<MockMaximus> {
        self.start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts the mock on `addr`, as a task on the current tokio runtime.
    pub async fn start_on(self, addr: impl tokio::net::ToSocketAddrs) -> io::Result<MockMaximus> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AppState::new(self.tracing));
        let (stop, stopped) = watch::channel(());
        let task = tokio::spawn(server::run(listener, state.clone(), stopped));
        log::info!("maximus-mock listening on http://{addr}");
        Ok(MockMaximus {
            addr,
            state,
            stop: Some(stop),
            runner: Runner::Task(Some(task)),
        })
    }

    /// Starts the mock on `127.0.0.1` and a free port, on a thread of its own.
    pub fn start_blocking(self) -> io::Result<MockMaximus> {
        self.start_blocking_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts the mock on `addr`, on a thread of its own with its own current-thread
    /// runtime.
    pub fn start_blocking_on(self, addr: impl std::net::ToSocketAddrs) -> io::Result<MockMaximus> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let state = Arc::new(AppState::new(self.tracing));
        let (stop, stopped) = watch::channel(());
        let served = state.clone();
        let thread = thread::Builder::new()
            .name(format!("maximus-mock-{}", addr.port()))
            // Dropping the runtime at the end ends every connection task too.
            .spawn(move || runtime.block_on(server::run(listener, served, stopped)))?;
        log::info!("maximus-mock listening on http://{addr}");
        Ok(MockMaximus {
            addr,
            state,
            stop: Some(stop),
            runner: Runner::Thread(Some(thread)),
        })
    }
}

/// A running mock MAXIMUS backend.
///
/// Dropping the handle stops the server: in-flight requests get a short
/// grace period, then their connections are closed.
pub struct MockMaximus {
    addr: SocketAddr,
    state: Arc<AppState>,
    /// Dropping it tells the server to stop.
    stop: Option<watch::Sender<()>>,
    runner: Runner,
}

/// Where the server runs.
enum Runner {
    /// A task on the caller's tokio runtime.
    Task(Option<JoinHandle<()>>),
    /// A thread of its own, with its own current-thread runtime.
    Thread(Option<thread::JoinHandle<()>>),
}

impl MockMaximus {
    /// Configures a mock: where its server spans go ([`ServerTracing`]).
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }

    /// Starts a mock on `127.0.0.1` and a free port, as a task on the current
    /// tokio runtime; its server spans go to the global pipeline.
    pub async fn start() -> io::Result<Self> {
        Self::builder().start().await
    }

    /// Starts a mock on `addr` (e.g. `"0.0.0.0:8100"`), as a task on the
    /// current tokio runtime.
    pub async fn start_on(addr: impl tokio::net::ToSocketAddrs) -> io::Result<Self> {
        Self::builder().start_on(addr).await
    }

    /// Starts a mock on `127.0.0.1` and a free port, on a thread of its own:
    /// for synchronous code, which has no runtime to lend it.
    pub fn start_blocking() -> io::Result<Self> {
        Self::builder().start_blocking()
    }

    /// Starts a mock on `addr`, on a thread of its own.
    pub fn start_blocking_on(addr: impl std::net::ToSocketAddrs) -> io::Result<Self> {
        Self::builder().start_blocking_on(addr)
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Applies `fault` to every request for `method` and `path` (the path
    /// without its query), from now on.
    pub fn inject(&self, method: Method, path: &str, fault: Fault) {
        self.state.faults.inject(method, path, fault, None);
    }

    /// Applies `fault` to the next `times` requests for `method` and `path`
    /// (`times == 0` injects nothing).
    ///
    /// Faults injected for the same route queue up in order: two calls script
    /// "two 503s, then one dropped connection, then normal answers".
    pub fn inject_times(&self, method: Method, path: &str, fault: Fault, times: usize) {
        self.state.faults.inject(method, path, fault, Some(times));
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Every request received so far (admin `/__mock` routes excepted), in
    /// arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.state.requests.clear();
    }

    /// How many events the governance stream sends before it ends (default 3).
    pub fn set_stream_events(&self, events: usize) {
        self.state.world().stream.events = events;
    }

    /// The pause between two events of the governance stream (default 50 ms).
    pub fn set_stream_interval(&self, interval: Duration) {
        self.state.world().stream.interval = interval;
    }

    /// Stops accepting connections, lets in-flight requests finish (for up to
    /// a second) and waits for the server to stop.
    pub async fn shutdown(mut self) {
        self.stop.take();
        match &mut self.runner {
            Runner::Task(task) => {
                if let Some(task) = task.take() {
                    let _ = task.await;
                }
            }
            // Bounded by the grace period; the thread needs nothing from the
            // caller's runtime to finish.
            Runner::Thread(thread) => join(thread),
        }
    }
}

fn join(thread: &mut Option<thread::JoinHandle<()>>) {
    if let Some(thread) = thread.take() {
        if thread.join().is_err() {
            log::error!("maximus-mock: server thread panicked");
        }
    }
}

impl Drop for MockMaximus {
    fn drop(&mut self) {
        self.stop.take();
        // A task stops on its own; a thread is joined so that nothing outlives
        // the handle.
        if let Runner::Thread(thread) = &mut self.runner {
            join(thread);
        }
    }
}

impl fmt::Debug for MockMaximus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runner = match self.runner {
            Runner::Task(_) => "task",
            Runner::Thread(_) => "thread",
        };
        f.debug_struct("MockMaximus")
            .field("addr", &self.addr)
            .field("runner", &runner)
            .finish_non_exhaustive()
    }
}
