//! Child processes a test waits for, each with a deadline: a program that hangs fails its
//! test with a message naming it, instead of hanging the whole suite.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `command` to its end with its output collected, for at most `limit`. A run that
/// outlives it is killed; the `Err` names `what` and holds the output so far.
pub fn output_within(command: &mut Command, limit: Duration, what: &str) -> Result<Output, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what} did not start: {e}"))?;
    let stdout = Collector::start(child.stdout.take());
    let stderr = Collector::start(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what} did not finish within {limit:?} and was killed; its output so far:\n{}\n{}",
                    String::from_utf8_lossy(&stdout.so_far()),
                    String::from_utf8_lossy(&stderr.so_far())
                ));
            }
            Err(e) => return Err(format!("{what}: waiting for it failed: {e}")),
        }
    };
    Ok(Output {
        status,
        stdout: stdout.finish(),
        stderr: stderr.finish(),
    })
}

/// Waits at most `limit` for `child` to print, on `stdout`, a line that `announce` accepts
/// (a server saying where it listens), and returns what `announce` made of it. The rest of
/// its output keeps being read (and dropped) so it never blocks on a full pipe. A child that
/// exits first or stays silent is killed; the `Err` names `what`.
pub fn announcement<T: Send + 'static>(
    child: &mut Child,
    stdout: ChildStdout,
    limit: Duration,
    what: &str,
    announce: impl Fn(&str) -> Option<T> + Send + 'static,
) -> Result<T, String> {
    let (found, announced) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let mut before = Vec::new();
        for line in lines.by_ref() {
            if let Some(value) = announce(&line) {
                let _ = found.send(Ok(value));
                lines.for_each(drop);
                return;
            }
            before.push(line);
        }
        let _ = found.send(Err(before.join("\n")));
    });
    let failure = match announced.recv_timeout(limit) {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(before)) => format!("{what} exited before it was ready; its output:\n{before}"),
        Err(RecvTimeoutError::Timeout) => format!("{what} was not ready within {limit:?} and was killed"),
        Err(RecvTimeoutError::Disconnected) => format!("{what}: its output could not be read"),
    };
    let _ = child.kill();
    let _ = child.wait();
    Err(failure)
}

/// A pipe read to its end on a thread of its own.
struct Collector {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Collector {
    fn start(pipe: Option<impl Read + Send + 'static>) -> Collector {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (finished, done) = mpsc::channel();
        let sink = Arc::clone(&bytes);
        thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                let mut chunk = [0; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    sink.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&chunk[..n]);
                }
            }
            let _ = finished.send(());
        });
        Collector { bytes, done }
    }

    fn so_far(&self) -> Vec<u8> {
        self.bytes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Everything, once the pipe is closed. A grandchild that inherited the pipe can keep it
    /// open after the child exits: what arrived within a few seconds is all there is.
    fn finish(self) -> Vec<u8> {
        let _ = self.done.recv_timeout(Duration::from_secs(5));
        self.so_far()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_past_its_limit_is_killed_and_named() {
        let clock = Instant::now();
        let mut command = Command::new("sh");
        command.args(["-c", "echo started; exec sleep 30"]);
        let error = output_within(&mut command, Duration::from_millis(300), "the sleeper").unwrap_err();
        assert!(clock.elapsed() < Duration::from_secs(10), "{:?}", clock.elapsed());
        assert!(error.contains("the sleeper did not finish"), "{error}");
        assert!(error.contains("started"), "the output so far: {error}");
    }

    #[test]
    fn a_run_within_its_limit_gives_its_output() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let output = output_within(&mut command, Duration::from_secs(30), "sh").unwrap();
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
    }

    fn spawn(script: &str) -> (Child, ChildStdout) {
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh starts");
        let stdout = child.stdout.take().expect("piped stdout");
        (child, stdout)
    }

    fn port(line: &str) -> Option<u16> {
        line.strip_prefix("LISTENING ")?.parse().ok()
    }

    #[test]
    fn an_announcement_is_found_among_other_lines() {
        let (mut child, stdout) = spawn("echo hello; echo LISTENING 4242; sleep 1");
        let found = announcement(&mut child, stdout, Duration::from_secs(30), "server", port);
        assert_eq!(found, Ok(4242));
        let _ = child.wait();
    }

    #[test]
    fn a_silent_child_is_killed_at_the_deadline() {
        let (mut child, stdout) = spawn("exec sleep 30");
        let error =
            announcement(&mut child, stdout, Duration::from_millis(300), "the server", port).unwrap_err();
        assert!(error.contains("the server was not ready"), "{error}");
        assert!(child.try_wait().unwrap().is_some(), "killed");
    }

    #[test]
    fn a_child_that_exits_unannounced_is_reported_with_its_output() {
        let (mut child, stdout) = spawn("echo cannot bind");
        let error =
            announcement(&mut child, stdout, Duration::from_secs(30), "the server", port).unwrap_err();
        assert!(
            error.contains("exited before it was ready") && error.contains("cannot bind"),
            "{error}"
        );
    }
}
