//! Foreign text (a program's output, a file's cell, a message someone told a study) bounded
//! before it becomes a message that anneal stores or prints: its head and its tail are kept,
//! with the number of bytes left out between them. A 100 MB line of standard error must not
//! become a 100 MB database row, report or error line.

#![warn(missing_docs)]

use std::borrow::Cow;
use std::collections::VecDeque;

/// The most bytes of foreign text one message keeps (its head and tail, each half of this).
pub const MESSAGE_LIMIT: usize = 2048;

/// Room for the ` … [N bytes left out] … ` between a clipped head and tail.
const MARKER_ROOM: usize = 48;

/// `text` as `limit` bytes of it at most, its head and tail around `… [N bytes left out] …`;
/// unchanged when that would save nothing (within `limit` plus the marker's room), so clipping
/// a clipped text again changes nothing.
pub fn clip(text: &str, limit: usize) -> Cow<'_, str> {
    if text.len() <= limit + MARKER_ROOM {
        return Cow::Borrowed(text);
    }
    let mut clip = Clip::new(limit);
    clip.push(text.as_bytes());
    Cow::Owned(clip.finish())
}

/// [`clip`] at [`MESSAGE_LIMIT`].
pub fn clip_message(text: &str) -> Cow<'_, str> {
    clip(text, MESSAGE_LIMIT)
}

/// Bytes that arrive in pieces (a pipe, a line read in chunks), kept as a head and a tail of
/// at most `limit` bytes together, however many arrive.
#[derive(Debug, Clone)]
pub struct Clip {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_room: usize,
    tail_room: usize,
    total: usize,
}

impl Clip {
    /// An empty clip keeping at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        let head_room = limit / 2;
        Self {
            head: Vec::new(),
            tail: VecDeque::new(),
            head_room,
            tail_room: limit - head_room,
            total: 0,
        }
    }

    /// Adds `bytes` at the end.
    pub fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len();
        let into_head = bytes.len().min(self.head_room - self.head.len());
        self.head.extend_from_slice(&bytes[..into_head]);
        let rest = &bytes[into_head..];
        let keep = rest.len().min(self.tail_room);
        let overflow = (self.tail.len() + keep).saturating_sub(self.tail_room);
        self.tail.drain(..overflow);
        self.tail.extend(&rest[rest.len() - keep..]);
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The text: all of it when it fit, else head, the count of bytes left out, and tail, cut
    /// at character boundaries (bytes that are not UTF-8 become U+FFFD).
    pub fn finish(self) -> String {
        let tail: Vec<u8> = self.tail.into_iter().collect();
        let left_out = self.total - self.head.len() - tail.len();
        if left_out == 0 {
            let mut all = self.head;
            all.extend_from_slice(&tail);
            return String::from_utf8_lossy(&all).into_owned();
        }
        // A character cut in two at either edge is dropped whole.
        let head_end = match std::str::from_utf8(&self.head) {
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            _ => self.head.len(),
        };
        let tail_start = tail
            .iter()
            .take(3)
            .take_while(|&&b| b & 0xC0 == 0x80)
            .count();
        let left_out = left_out + (self.head.len() - head_end) + tail_start;
        format!(
            "{} … [{left_out} bytes left out] … {}",
            String::from_utf8_lossy(&self.head[..head_end]),
            String::from_utf8_lossy(&tail[tail_start..])
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_unchanged() {
        assert!(matches!(clip("short", 10), Cow::Borrowed("short")));
        let mut clip = Clip::new(10);
        clip.push(b"0123");
        clip.push(b"456789");
        assert_eq!(clip.finish(), "0123456789");
    }

    #[test]
    fn long_text_keeps_head_and_tail_and_counts_the_rest() {
        let text = format!("start{}end", "x".repeat(100_000_000));
        let clipped = clip(&text, 20);
        assert_eq!(
            clipped,
            "startxxxxx … [99999988 bytes left out] … xxxxxxxend"
        );
        // In pieces, the same.
        let mut pieces = Clip::new(20);
        for chunk in text.as_bytes().chunks(4096) {
            pieces.push(chunk);
        }
        assert_eq!(pieces.finish(), clipped);
        let message = clip_message(&text);
        assert!(message.len() <= MESSAGE_LIMIT + MARKER_ROOM);
        assert_eq!(
            clip_message(&message),
            message,
            "clipping twice changes nothing"
        );
    }

    #[test]
    fn cuts_never_split_a_character() {
        let text = "é".repeat(100); // two bytes each
        let clipped = clip(&text, 11); // head 5 bytes, tail 6
        assert_eq!(clipped, "éé … [190 bytes left out] … ééé");
        let clipped = clip(&text, 12);
        assert_eq!(clipped, "ééé … [188 bytes left out] … ééé");
        let text = format!("a{}", "é".repeat(100));
        assert_eq!(clip(&text, 10), "aéé … [192 bytes left out] … éé");
    }
}
