//! A command trial's output: read line by line, every byte copied to its log file, each line
//! bounded in memory (a program may print one 100 MB line), standard error's last lines kept
//! for a failed trial's message.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anneal_text::{Clip, MESSAGE_LIMIT};

/// Lines of standard error kept for a failed trial's message.
const STDERR_TAIL: usize = 20;

/// The lines of `source` (bytes that are not UTF-8 replaced, so odd output never ends the
/// reading), each copied whole to `log` and kept as at most [`MESSAGE_LIMIT`] bytes.
fn lines_logged(source: impl Read, log: &Path) -> impl Iterator<Item = String> {
    let mut file = std::fs::File::create(log).ok();
    let mut reader = BufReader::new(source);
    std::iter::from_fn(move || {
        let mut line = Clip::new(MESSAGE_LIMIT);
        loop {
            let (used, ended) = match reader.fill_buf() {
                Ok([]) | Err(_) => break,
                Ok(buffer) => {
                    let end = buffer.iter().position(|&b| b == b'\n');
                    let chunk = &buffer[..end.map_or(buffer.len(), |i| i + 1)];
                    if let Some(file) = file.as_mut() {
                        let _ = file.write_all(chunk);
                    }
                    line.push(chunk);
                    (chunk.len(), end.is_some())
                }
            };
            reader.consume(used);
            if ended {
                break;
            }
        }
        (!line.is_empty()).then(|| line.finish().trim_end_matches(['\n', '\r']).to_string())
    })
}

/// Sends each line of `source` down `lines`, copying it to `log`; keeps reading (so the
/// program never blocks on a full pipe) after the receiver is gone.
pub(super) fn forward_lines(source: impl Read, log: &Path, lines: mpsc::Sender<String>) {
    for line in lines_logged(source, log) {
        let _ = lines.send(line);
    }
}

/// The last lines of standard error, read in a thread of their own. It is read without
/// waiting for the pipe to close: a process the trial started in a session of its own may hold
/// it open long after the trial ended.
pub(super) struct StderrTail {
    lines: Arc<Mutex<(VecDeque<String>, bool)>>,
}

impl StderrTail {
    /// Starts copying `source` to `log`, keeping its last lines.
    pub(super) fn start(source: impl Read + Send + 'static, log: &Path) -> Self {
        let lines = Arc::new(Mutex::new((VecDeque::new(), false)));
        let shared = lines.clone();
        let log = log.to_path_buf();
        std::thread::spawn(move || {
            for line in lines_logged(source, &log) {
                let mut kept = shared.lock().unwrap_or_else(|p| p.into_inner());
                if kept.0.len() == STDERR_TAIL {
                    kept.0.pop_front();
                }
                kept.0.push_back(line);
            }
            shared.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
        });
        Self { lines }
    }

    /// The last lines, once the pipe closed or `patience` passed, whichever is first.
    pub(super) fn take(self, patience: Duration) -> String {
        let deadline = Instant::now() + patience;
        loop {
            let kept = self.lines.lock().unwrap_or_else(|p| p.into_inner());
            if kept.1 || Instant::now() >= deadline {
                return kept.0.iter().cloned().collect::<Vec<_>>().join("\n");
            }
            drop(kept);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_line_is_logged_whole_and_kept_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("out.log");
        let mut text = b"first\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 10_000_000));
        text.extend(b"\nlast\r\n");
        let lines: Vec<String> = lines_logged(&text[..], &log).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!((lines[0].as_str(), lines[2].as_str()), ("first", "last"));
        assert!(lines[1].len() < 2 * MESSAGE_LIMIT, "{}", lines[1].len());
        assert!(lines[1].contains("bytes left out"));
        assert_eq!(std::fs::read(&log).unwrap(), text);
    }
}
