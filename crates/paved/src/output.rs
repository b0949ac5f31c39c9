//! Standard output of the commands. `println!` panics when stdout is gone; a reader that stops
//! early (`paved validate . | head -1`) closes the pipe, and that is not an error of the
//! command: what is left to print is dropped quietly and the command still ends with its own
//! exit code. Any other write error (a full disk behind a redirect) is returned.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write met a closed pipe; later writes are skipped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout and flushes, so a closed pipe is seen at the write that met it.
pub fn write(text: std::fmt::Arguments<'_>) -> io::Result<()> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    match stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        written => written,
    }
}

/// `print!` that returns `io::Result` instead of panicking (see the module's text).
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write(format_args!($($arg)*)) };
}

/// `println!` that returns `io::Result` instead of panicking (see the module's text).
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::write(format_args!("{}\n", format_args!($($arg)*))) };
}
