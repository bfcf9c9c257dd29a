//! A stand-in Jaeger agent on 127.0.0.1: a UDP socket whose `emitBatch` datagrams are decoded
//! with `decode_emit_batch`, drained by a background thread.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use maximus_trace::export::jaeger::{Batch, decode_emit_batch};

/// A stand-in Jaeger agent: a loopback UDP socket drained by a background thread (so a burst of
/// datagrams never overflows the socket's receive buffer while the test is busy).
pub struct FakeAgent {
    pub port: u16,
    received: Arc<(Mutex<Vec<Batch>>, Condvar)>,
    stopping: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

impl FakeAgent {
    /// Binds a loopback port and starts draining it.
    pub fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
        // Short, so the reader notices `stopping` promptly; datagrams are not lost meanwhile.
        socket.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let port = socket.local_addr().unwrap().port();
        let received: Arc<(Mutex<Vec<Batch>>, Condvar)> = Arc::default();
        let stopping = Arc::new(AtomicBool::new(false));
        let reader = {
            let (received, stopping) = (Arc::clone(&received), Arc::clone(&stopping));
            std::thread::spawn(move || {
                let mut datagram = vec![0; 65_536];
                while !stopping.load(Ordering::SeqCst) {
                    let Ok(len) = socket.recv(&mut datagram) else {
                        continue;
                    };
                    let batch = decode_emit_batch(&datagram[..len]).expect("a valid emitBatch datagram");
                    let (batches, arrived) = &*received;
                    batches.lock().unwrap().push(batch);
                    arrived.notify_all();
                }
            })
        };
        FakeAgent {
            port,
            received,
            stopping,
            reader: Some(reader),
        }
    }

    /// Waits until at least `n` spans have arrived (or the time is up); returns every batch.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<Batch> {
        let deadline = Instant::now() + timeout;
        let (batches, arrived) = &*self.received;
        let mut batches = batches.lock().unwrap_or_else(PoisonError::into_inner);
        while batches.iter().map(|b| b.spans.len()).sum::<usize>() < n {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            batches = arrived
                .wait_timeout(batches, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        batches.clone()
    }
}

impl Drop for FakeAgent {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
