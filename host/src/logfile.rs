//! host.log: what the presenter reads after a show, so it takes flow text
//! only through the sanitiser, and a flow that logs without end cannot fill
//! the disk. When the file would pass its cap it becomes `host.log.1`
//! (replacing the older one) and a new file starts: at most two caps on disk.
//!
//! Rotation is by size, which `tracing-appender` does not offer (it rotates
//! by time), hence this writer.

use crate::sanitize;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Bytes one log file may hold before it is rotated.
pub const LOG_CAP_BYTES: u64 = 8 << 20;

pub struct RotatingLog {
    path: PathBuf,
    cap: u64,
    file: File,
    /// Bytes in the current file.
    len: u64,
}

impl RotatingLog {
    /// Appends to `path`, capped at [`LOG_CAP_BYTES`].
    pub fn open(path: &Path) -> io::Result<Self> {
        Self::with_cap(path, LOG_CAP_BYTES)
    }

    pub fn with_cap(path: &Path, cap: u64) -> io::Result<Self> {
        let file = append(path)?;
        let len = file.metadata()?.len();
        let mut log = RotatingLog {
            path: path.to_path_buf(),
            cap: cap.max(1),
            file,
            len,
        };
        // A file over the cap was written by a host without one; kept as
        // the older file it would break the bound, so it starts again.
        if log.len > log.cap {
            log.file.set_len(0)?;
            log.len = 0;
        }
        Ok(log)
    }

    /// The older file: `host.log.1` next to `host.log`.
    pub fn rotated_path(&self) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".1");
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        match std::fs::rename(&self.path, self.rotated_path()) {
            Ok(()) => self.file = append(&self.path)?,
            // Without the rename the cap still holds by dropping the old
            // lines instead of keeping them as the older file.
            Err(_) => self.file.set_len(0)?,
        }
        self.len = 0;
        Ok(())
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Write for RotatingLog {
    /// Takes the whole buffer: tracing's fmt layer writes each event with
    /// one call, so a call holds whole lines and sanitising it on its own
    /// does not split an escape sequence or a UTF-8 character.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = sanitize::display_text(&text);
        let mut bytes = clean.as_bytes();
        if self.len > 0 && self.len + bytes.len() as u64 > self.cap {
            self.rotate()?;
        }
        // One event larger than a whole file is cut to fit, on a character
        // boundary so the file stays UTF-8.
        if bytes.len() as u64 > self.cap {
            let mut end = self.cap as usize;
            while !clean.is_char_boundary(end) {
                end -= 1;
            }
            bytes = &bytes[..end];
        }
        self.file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each test writes whole events with one `write_all`, as tracing does.

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("host-logfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    #[test]
    fn endless_logging_stays_within_two_caps_and_keeps_the_newest_lines() {
        let dir = temp_dir("rotation");
        let path = dir.join("host.log");
        let mut log = RotatingLog::with_cap(&path, 1000).unwrap();
        for i in 0..500 {
            let event = format!("flow log line {i:04} {}\n", "x".repeat(40));
            log.write_all(event.as_bytes()).unwrap();
            assert!(size(&path) <= 1000, "host.log is {} bytes", size(&path));
            assert!(size(&log.rotated_path()) <= 1000);
        }
        let newest = std::fs::read_to_string(&path).unwrap();
        assert!(newest.ends_with(&format!("line 0499 {}\n", "x".repeat(40))));
        let older = std::fs::read_to_string(log.rotated_path()).unwrap();
        assert!(!older.is_empty() && older.ends_with('\n'));
        // Nothing else appeared in the directory: one .1, never .2.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_event_larger_than_the_cap_is_cut_to_it() {
        let dir = temp_dir("huge");
        let path = dir.join("host.log");
        // 101 falls inside a two-byte character.
        let mut log = RotatingLog::with_cap(&path, 101).unwrap();
        log.write_all("é".repeat(1000).as_bytes()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "é".repeat(50));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn escape_sequences_never_reach_the_file() {
        let dir = temp_dir("sanitise");
        let path = dir.join("host.log");
        let mut log = RotatingLog::with_cap(&path, 1000).unwrap();
        log.write_all(b"flow says evil\x1b]2;PWNED\x07 end\tx\r\n")
            .unwrap();
        log.write_all("second \u{9b}31mline\n".as_bytes()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "flow says evil end    x\nsecond line\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reopening_appends_and_counts_what_is_already_there() {
        let dir = temp_dir("reopen");
        let path = dir.join("host.log");
        std::fs::write(&path, "a".repeat(90) + "\n").unwrap();
        let mut log = RotatingLog::with_cap(&path, 100).unwrap();
        log.write_all(b"0123456789\n").unwrap();
        assert_eq!(size(&path), 11, "the earlier run's lines moved to .1");
        assert_eq!(size(&log.rotated_path()), 91);
        // A file left over the cap by an uncapped host does not survive.
        std::fs::write(&path, "b".repeat(500)).unwrap();
        drop(RotatingLog::with_cap(&path, 100).unwrap());
        assert_eq!(size(&path), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
