//! The local server's log output: request threads append their lines to one shared buffer, and a thread of
//! its own writes what has gathered to stdout at most `BATCH_WAIT` after the first line of a batch. A request
//! pays an append under a lock; it wakes the writer only when the buffer was empty, never per line (a
//! writer thread woken for every line, then writing it alone, was an eighth of the gateway's time in issue
//! 16's profile). Lines keep their order and none is dropped: when stdout stops taking them, an append waits
//! once `MAX_PENDING` bytes are queued. An idle server's writer sleeps without a timer. [`Timestamps`] stamps
//! the readable format's lines.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;

/// How long the writer lets lines gather after the first one of a batch: the longest a line waits.
const BATCH_WAIT: Duration = Duration::from_millis(20);

/// Queued bytes past which an append waits for the writer.
const MAX_PENDING: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Queue {
    pending: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when the queue gets its first line, or is closed.
    filled: Condvar,
    /// Signalled when the writer has taken the queue.
    drained: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The `MakeWriter` the log subscriber writes through.
#[derive(Clone)]
pub struct BatchedStdout {
    shared: Arc<Shared>,
}

/// Stops the writer when dropped, after it has written every line appended before.
pub struct WriterGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// The writer for the subscriber, and the guard that flushes it at the end of `main`.
pub fn batched_stdout() -> (BatchedStdout, WriterGuard) {
    batched(std::io::stdout())
}

fn batched(mut out: impl Write + Send + 'static) -> (BatchedStdout, WriterGuard) {
    let shared = Arc::new(Shared::default());
    let writer = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || loop {
            let mut queue = writer.lock();
            while queue.pending.is_empty() && !queue.closed {
                queue = writer
                    .filled
                    .wait(queue)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            if !queue.closed {
                drop(queue);
                std::thread::sleep(BATCH_WAIT);
                queue = writer.lock();
            }
            let batch = std::mem::take(&mut queue.pending);
            let closed = queue.closed;
            drop(queue);
            writer.drained.notify_all();
            // A log that cannot be written is not a reason to stop serving.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            if closed {
                return;
            }
        })
        .expect("start the log writer thread");
    (
        BatchedStdout {
            shared: Arc::clone(&shared),
        },
        WriterGuard {
            shared,
            thread: Some(thread),
        },
    )
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.filled.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// Written through a shared reference: the subscriber asks for a writer per line, and a clone would touch
// the shared count twice a line.
impl Write for &BatchedStdout {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut queue = self.shared.lock();
        while queue.pending.len() >= MAX_PENDING && !queue.closed {
            queue = self
                .shared
                .drained
                .wait(queue)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let first = queue.pending.is_empty();
        queue.pending.extend_from_slice(line);
        drop(queue);
        if first {
            self.shared.filled.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStdout {
    type Writer = &'a BatchedStdout;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// The readable log's timestamps, the text tracing-subscriber's `SystemTime` writes
/// (`2026-11-30T16:07:03.123456Z`), with the date and time of day formatted once a second per thread: the
/// whole stamp formatted for every line was a fifth of what the access line cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timestamps;

impl FormatTime for Timestamps {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        thread_local! {
            static STAMP: RefCell<Stamp> = const { RefCell::new(Stamp::new()) };
        }
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since_epoch) => STAMP.with_borrow_mut(|stamp| w.write_str(stamp.at(since_epoch))),
            Err(_) => tracing_subscriber::fmt::time::SystemTime.format_time(w),
        }
    }
}

/// One thread's last timestamp: its whole second, and its text, whose part up to the second stays while the
/// second does.
struct Stamp {
    second: u64,
    text: String,
    second_len: usize,
}

impl Stamp {
    const fn new() -> Self {
        Stamp {
            second: u64::MAX,
            text: String::new(),
            second_len: 0,
        }
    }

    /// `since_epoch` as text.
    fn at(&mut self, since_epoch: Duration) -> &str {
        let second = since_epoch.as_secs();
        if second != self.second {
            let at = i64::try_from(second)
                .ok()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .unwrap_or_default();
            self.text = at.format("%Y-%m-%dT%H:%M:%S.").to_string();
            self.second = second;
            self.second_len = self.text.len();
        }
        self.text.truncate(self.second_len);
        domain::wire::zero_padded(&mut self.text, since_epoch.subsec_micros(), 6);
        self.text.push('Z');
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the writer thread wrote, and how many writes it took.
    #[derive(Clone, Default)]
    struct Recorded(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Recorded {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let mut recorded = self.0.lock().unwrap();
            recorded.0.extend_from_slice(bytes);
            recorded.1 += 1;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_in_few_writes_and_the_guard_flushes_the_rest() {
        let recorded = Recorded::default();
        let (writer, guard) = batched(recorded.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        (&writer)
                            .write_all(format!("{t} {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(guard);
        let (bytes, writes) = recorded.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().count(), 4000, "none dropped");
        for t in 0..4 {
            let own: Vec<usize> = text
                .lines()
                .filter_map(|line| line.strip_prefix(&format!("{t} ")))
                .map(|i| i.parse().unwrap())
                .collect();
            assert_eq!(
                own,
                (0..1000).collect::<Vec<_>>(),
                "each thread's lines in order"
            );
        }
        assert!(writes < 100, "batched: {writes} writes for 4000 lines");
    }

    #[test]
    fn a_line_on_a_quiet_server_is_written_without_another_to_push_it() {
        let recorded = Recorded::default();
        let (writer, _guard) = batched(recorded.clone());
        (&writer).write_all(b"one line\n").unwrap();
        // A guard against hanging only: the writer thread writes it after its batch wait, whenever it runs.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while recorded.0.lock().unwrap().0.is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(recorded.0.lock().unwrap().0, b"one line\n");
    }

    #[test]
    fn timestamps_read_as_tracing_subscriber_writes_them() {
        let mut stamp = Stamp::new();
        for (seconds, nanos) in [
            (1_796_000_000, 123_456_789),
            (1_796_000_000, 999),
            (1_796_000_001, 0),
            (0, 5_000),
        ] {
            let since_epoch = Duration::new(seconds, nanos);
            let at = chrono::DateTime::from_timestamp(seconds as i64, nanos).unwrap();
            assert_eq!(
                stamp.at(since_epoch),
                at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            );
        }
    }
}
