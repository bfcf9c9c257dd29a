//! A stand-in Jaeger agent on 127.0.0.1: a UDP socket whose `emitBatch` datagrams are decoded
//! with `decode_emit_batch`, drained by a background thread.
// Shared by several test crates; each uses part of it.
#![allow(dead_code)]

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
    /// Spans received, also when batches are not kept.
    counted: Arc<std::sync::atomic::AtomicUsize>,
    stopping: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

impl FakeAgent {
    /// Binds a loopback port and starts draining it.
    pub fn start() -> Self {
        Self::spawn(true)
    }

    /// An agent that counts the spans it receives and keeps no batch (so what a test
    /// measures of the heap is not the agent's).
    pub fn counting() -> Self {
        Self::spawn(false)
    }

    /// Waits until `n` spans were counted (or the time is up); the count.
    pub fn wait_for_count(&self, n: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let counted = self.counted.load(Ordering::SeqCst);
            if counted >= n || Instant::now() >= deadline {
                return counted;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn spawn(keep: bool) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
        // Short, so the reader notices `stopping` promptly; datagrams are not lost meanwhile.
        socket.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let port = socket.local_addr().unwrap().port();
        let received: Arc<(Mutex<Vec<Batch>>, Condvar)> = Arc::default();
        let counted: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        let stopping = Arc::new(AtomicBool::new(false));
        let reader = {
            let (received, stopping) = (Arc::clone(&received), Arc::clone(&stopping));
            let counted = Arc::clone(&counted);
            // As a real agent does: one thread only drains the socket into a queue, another
            // decodes, so a burst is not lost to a full socket buffer while decoding.
            let (datagrams, queued) = std::sync::mpsc::channel::<Vec<u8>>();
            std::thread::spawn(move || {
                for datagram in queued {
                    let batch = decode_emit_batch(&datagram).expect("a valid emitBatch datagram");
                    counted.fetch_add(batch.spans.len(), Ordering::SeqCst);
                    if keep {
                        let (batches, arrived) = &*received;
                        batches.lock().unwrap().push(batch);
                        arrived.notify_all();
                    }
                }
            });
            std::thread::spawn(move || {
                let mut datagram = vec![0; 65_536];
                while !stopping.load(Ordering::SeqCst) {
                    let Ok(len) = socket.recv(&mut datagram) else {
                        continue;
                    };
                    let _ = datagrams.send(datagram[..len].to_vec());
                }
            })
        };
        FakeAgent {
            port,
            received,
            counted,
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
