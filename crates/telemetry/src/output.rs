//! Every line the functions write to stdout goes through here: log lines (the tracing
//! subscriber's writer, [`Stdout`]) and EMF metric and audit lines ([`line`]). Lambda sends
//! stdout to CloudWatch Logs line by line.
//!
//! [`batch`] gathers the lines one piece of work writes on its thread and writes them to stdout
//! together when the work ends, in one write: an authorizer decision costs one system call for
//! its line and whatever was logged while it decided. Outside a batch every line is written at
//! once, as before.

use std::cell::RefCell;
use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// The batch of this thread: whether one is open, and its lines. The buffer is kept between
/// batches so a warm function does not allocate one per decision.
struct Pending {
    open: bool,
    buf: Vec<u8>,
    /// Writes to stdout made from this thread through this module (see [`writes`]).
    writes: u64,
}

thread_local! {
    static PENDING: RefCell<Pending> = const {
        RefCell::new(Pending { open: false, buf: Vec::new(), writes: 0 })
    };
}

/// How many writes to stdout this thread has made through this module: a batch is one, a line
/// outside a batch one each (tests: what a piece of work costs in writes).
pub fn writes() -> u64 {
    PENDING.with(|p| p.borrow().writes)
}

fn count_write() {
    PENDING.with(|p| p.borrow_mut().writes += 1);
}

/// Runs `work`; whatever it writes through this module on this thread reaches stdout in one
/// write when it returns (or unwinds). A batch inside a batch adds to the outer one.
pub fn batch<R>(work: impl FnOnce() -> R) -> R {
    let _flush = open();
    work()
}

/// Opens a batch on this thread; `None` if one is open already.
fn open() -> Option<Flush> {
    let opened = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        !std::mem::replace(&mut p.open, true)
    });
    // Not `then_some(Flush)`: that builds a Flush either way, and dropping the unused one
    // would close the outer batch.
    if opened { Some(Flush) } else { None }
}

/// Closes the batch and writes its lines.
struct Flush;

impl Drop for Flush {
    fn drop(&mut self) {
        let buf = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            p.open = false;
            std::mem::take(&mut p.buf)
        });
        if !buf.is_empty() {
            count_write();
            if std::thread::panicking() {
                // Never a second panic (an abort) if stdout is gone: the lines are lost then.
                let _ = io::stdout().lock().write_all(&buf);
            } else {
                // print!, not a write to the handle: the test harness captures it like any print.
                print!("{}", String::from_utf8_lossy(&buf));
            }
        }
        // The buffer back, emptied, for the next batch.
        let mut buf = buf;
        buf.clear();
        PENDING.with(|p| p.borrow_mut().buf = buf);
    }
}

/// Runs `work` in a batch and returns what it wrote instead of writing it (tests: which lines a
/// piece of work writes, and that they go out together).
pub fn capture<R>(work: impl FnOnce() -> R) -> (R, String) {
    batch(|| {
        let start = pending_len();
        let out = work();
        (out, take_from(start))
    })
}

fn pending_len() -> usize {
    PENDING.with(|p| p.borrow().buf.len())
}

fn take_from(start: usize) -> String {
    let lines = PENDING.with(|p| p.borrow_mut().buf.split_off(start));
    String::from_utf8_lossy(&lines).into_owned()
}

/// Adds `bytes` to the open batch; false when none is open.
fn queue(bytes: &[u8], newline: bool) -> bool {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if !p.open {
            return false;
        }
        p.buf.extend_from_slice(bytes);
        if newline {
            p.buf.push(b'\n');
        }
        true
    })
}

/// Writes one whole line (an EMF document, an audit event): to the open batch, else to stdout
/// under its lock, so it never interleaves with a log line.
pub fn line(text: &str) {
    if !queue(text.as_bytes(), true) {
        count_write();
        println!("{text}");
    }
}

/// The tracing subscriber's writer: stdout, or the batch open on this thread. The subscriber
/// formats a whole log line, then writes it with one `write_all`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if queue(buf, false) {
            Ok(buf.len())
        } else {
            count_write();
            io::stdout().write(buf)
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if queue(buf, false) {
            Ok(())
        } else {
            count_write();
            io::stdout().write_all(buf)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

impl MakeWriter<'_> for Stdout {
    type Writer = Stdout;

    fn make_writer(&self) -> Self::Writer {
        Stdout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Vec<u8> {
        PENDING.with(|p| p.borrow().buf.clone())
    }

    fn is_open() -> bool {
        PENDING.with(|p| p.borrow().open)
    }

    #[test]
    fn a_batch_holds_its_lines_in_order_until_it_ends() {
        let seen = batch(|| {
            line("{\"a\":1}");
            Stdout.write_all(b"INFO log line\n").unwrap();
            line("{\"b\":2}");
            assert!(is_open());
            pending()
        });
        assert_eq!(seen, b"{\"a\":1}\nINFO log line\n{\"b\":2}\n");
        let before = writes();
        batch(|| {
            line("one");
            Stdout.write_all(b"two\n").unwrap();
        });
        assert_eq!(writes() - before, 1, "a batch is one write");
        batch(|| {});
        assert_eq!(writes() - before, 1, "an empty batch writes nothing");
        assert!(!is_open(), "the batch is closed");
        assert!(pending().is_empty(), "and written out");
    }

    #[test]
    fn nested_batches_write_once_at_the_outer_end() {
        batch(|| {
            batch(|| line("inner"));
            assert!(is_open(), "the inner end does not close the outer batch");
            assert_eq!(pending(), b"inner\n");
            line("outer");
            assert_eq!(pending(), b"inner\nouter\n");
        });
        assert!(!is_open());
        assert!(pending().is_empty());
    }

    #[test]
    fn outside_a_batch_nothing_is_held() {
        let before = writes();
        line("straight out");
        Stdout.write_all(b"log\n").unwrap();
        assert_eq!(writes() - before, 2, "one write per line");
        assert!(!is_open());
        assert!(pending().is_empty());
    }

    #[test]
    fn a_panicking_batch_still_closes() {
        let r = std::panic::catch_unwind(|| {
            batch(|| {
                line("before the panic");
                panic!("boom")
            })
        });
        assert!(r.is_err());
        assert!(!is_open(), "a panic does not leave the batch open");
        assert!(pending().is_empty());
        // The next batch works as usual.
        assert_eq!(
            batch(|| {
                line("next");
                pending()
            }),
            b"next\n"
        );
    }

    #[test]
    fn capture_returns_the_lines_instead_of_writing_them() {
        let (n, lines) = capture(|| {
            line("one");
            Stdout.write_all(b"two\n").unwrap();
            2
        });
        assert_eq!((n, lines.as_str()), (2, "one\ntwo\n"));
        assert!(!is_open());
        assert!(pending().is_empty());
        // Inside a batch, only its own lines; the batch keeps the rest.
        batch(|| {
            line("kept");
            let ((), mine) = capture(|| line("mine"));
            assert_eq!(mine, "mine\n");
            assert_eq!(pending(), b"kept\n");
        });
    }

    #[test]
    fn batches_are_per_thread() {
        batch(|| {
            line("here");
            std::thread::spawn(|| {
                assert!(!is_open(), "another thread has no batch open");
                line("there");
                assert!(pending().is_empty());
            })
            .join()
            .unwrap();
            assert_eq!(pending(), b"here\n");
        });
    }
}
