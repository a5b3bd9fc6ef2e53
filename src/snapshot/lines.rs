//! Lines and columns of byte offsets, counted 64 bytes at a time.
//!
//! A position is a 1-based line and a 1-based column in characters. Counting a text up to
//! an offset means counting its newlines and, since the last one, the bytes that begin a
//! UTF-8 character (every byte but the continuation bytes `10xxxxxx`). A [`Counter`] does
//! both in one pass over blocks of 64 bytes: a block with no newline and no byte ≥ 0x80 —
//! nearly every block of a compact ASCII export — costs a handful of vector instructions
//! (SSE2 on x86_64); the others are counted from bit masks.
//!
//! The text may arrive in parts (a streamed file): a counter only ever moves forward, and
//! [`Counter::position_at`] gives the position of a later byte without consuming the
//! partial block before it, so that the next call still counts whole blocks.

use super::locate::Position;
use super::scan::BLOCK;

/// The newlines and UTF-8 continuation bytes of one block: bit `i` is byte `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Masks {
    newline: u64,
    cont: u64,
}

/// The masks of a block; `None` when it has no byte below 11 (no newline) and none ≥ 0x80
/// (64 characters on one line).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
fn masks(b: &[u8; BLOCK]) -> Option<Masks> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline and this function is only compiled when
    // the `sse2` target feature is enabled for the whole build, so every CPU the binary runs
    // on has these instructions. `_mm_loadu_si128` reads 16 bytes through a pointer that
    // must be valid for that read and needs no alignment: each is a 16-byte chunk of `b`
    // (`chunks_exact`).
    unsafe {
        let mut v = [_mm_set1_epi8(0); 4];
        for (slot, part) in v.iter_mut().zip(b.chunks_exact(16)) {
            *slot = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
        }
        let [v0, v1, v2, v3] = v;
        // Read as signed bytes, those below 11 are the newline (10), the control characters
        // before it and every byte ≥ 0x80: one comparison per 16 bytes tells whether the
        // block is plain (the others are counted exactly below).
        let eleven = _mm_set1_epi8(11);
        let low = |x| _mm_cmplt_epi8(x, eleven);
        let any = _mm_or_si128(_mm_or_si128(low(v0), low(v1)), _mm_or_si128(low(v2), low(v3)));
        if _mm_movemask_epi8(any) == 0 {
            return None;
        }
        let nl = _mm_set1_epi8(b'\n' as i8);
        let (e0, e1, e2, e3) =
            (_mm_cmpeq_epi8(v0, nl), _mm_cmpeq_epi8(v1, nl), _mm_cmpeq_epi8(v2, nl), _mm_cmpeq_epi8(v3, nl));
        let bits = |x: __m128i, i: u32| u64::from(_mm_movemask_epi8(x) as u16) << (16 * i);
        // Continuation bytes 0x80..=0xBF are, read as signed bytes, those below -64.
        let below = _mm_set1_epi8(-64);
        Some(Masks {
            newline: bits(e0, 0) | bits(e1, 1) | bits(e2, 2) | bits(e3, 3),
            cont: bits(_mm_cmplt_epi8(v0, below), 0)
                | bits(_mm_cmplt_epi8(v1, below), 1)
                | bits(_mm_cmplt_epi8(v2, below), 2)
                | bits(_mm_cmplt_epi8(v3, below), 3),
        })
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn masks(b: &[u8; BLOCK]) -> Option<Masks> {
    masks_portable(b)
}

/// The same masks byte by byte (the reference the vector code is tested against).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn masks_portable(b: &[u8; BLOCK]) -> Option<Masks> {
    let mut m = Masks { newline: 0, cont: 0 };
    for (i, &c) in b.iter().enumerate() {
        m.newline |= u64::from(c == b'\n') << i;
        m.cont |= u64::from(c & 0xC0 == 0x80) << i;
    }
    let plain = b.iter().all(|&c| (11..0x80).contains(&c));
    (!plain).then_some(m)
}

/// The masks of the first `BLOCK` bytes of `b`, padded with zeros (neither newlines nor
/// continuation bytes) when it is shorter.
fn masks_at(b: &[u8]) -> Option<Masks> {
    if let Some(whole) = b.get(..BLOCK).and_then(|w| <&[u8; BLOCK]>::try_from(w).ok()) {
        return masks(whole);
    }
    let mut out = [0u8; BLOCK];
    for (o, &c) in out.iter_mut().zip(b) {
        *o = c;
    }
    masks(&out)
}

/// Counts lines and characters of a text read in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Bytes counted: the offset in the text of the next byte.
    pub at: u64,
    /// The line of byte `at` (1-based).
    line: u64,
    /// Characters before byte `at` on its line.
    col: u64,
}

impl Counter {
    /// A counter at byte `at` of a text, which is at `pos`.
    pub fn new(at: u64, pos: Position) -> Counter {
        Counter { at, line: pos.line, col: pos.column.saturating_sub(1) }
    }

    /// The position of byte `at`.
    pub fn position(&self) -> Position {
        Position { line: self.line, column: self.col + 1 }
    }

    /// Counts the first `n` bytes of `rest`, the text from byte `at` on.
    pub fn advance(&mut self, rest: &[u8], n: usize) {
        let done = self.whole_blocks(rest, n);
        self.partial(rest.get(done..).unwrap_or_default(), n - done);
    }

    /// The position of byte `at + n`, `rest` being the text from byte `at` on: whole blocks
    /// before it are counted, the bytes of the last partial one are not.
    pub fn position_at(&mut self, rest: &[u8], n: usize) -> Position {
        let done = self.whole_blocks(rest, n);
        let mut c = *self;
        c.partial(rest.get(done..).unwrap_or_default(), n - done);
        c.position()
    }

    /// Counts the whole blocks of `rest[..n]`; returns how many bytes that was.
    #[inline]
    fn whole_blocks(&mut self, rest: &[u8], n: usize) -> usize {
        let n = n.min(rest.len());
        let done = n / BLOCK * BLOCK;
        for block in rest.get(..done).unwrap_or_default().chunks_exact(BLOCK) {
            let Ok(block) = <&[u8; BLOCK]>::try_from(block) else { continue };
            match masks(block) {
                None => self.col += BLOCK as u64,
                m => self.add(m, BLOCK),
            }
        }
        self.at += done as u64;
        done
    }

    /// Counts the first `n` (< 64) bytes of `rest`.
    fn partial(&mut self, rest: &[u8], n: usize) {
        let n = n.min(rest.len());
        if n > 0 {
            self.add(masks_at(rest), n);
            self.at += n as u64;
        }
    }

    /// Counts the first `len` bytes of a block with masks `m`.
    #[inline]
    fn add(&mut self, m: Option<Masks>, len: usize) {
        let Some(m) = m else {
            self.col += len as u64;
            return;
        };
        let keep = if len >= BLOCK { u64::MAX } else { (1u64 << len) - 1 };
        let (newline, cont) = (m.newline & keep, m.cont & keep);
        if newline == 0 {
            self.col += u64::from(len as u32 - cont.count_ones());
        } else {
            self.line += u64::from(newline.count_ones());
            let last = 63 - newline.leading_zeros();
            let after = if last == 63 { 0 } else { keep & (u64::MAX << (last + 1)) };
            self.col = u64::from(after.count_ones() - (cont & after).count_ones());
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "tests index their own fixtures and fail by panicking")]
mod tests {
    use super::*;

    /// The position of every byte offset, the slow way.
    fn slow(text: &[u8], start: Position, at: usize) -> Position {
        let before = &text[..at];
        let newlines = before.iter().filter(|&&c| c == b'\n').count() as u64;
        let line_start = before.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
        let chars = before[line_start..].iter().filter(|&&c| c & 0xC0 != 0x80).count() as u64;
        if newlines == 0 {
            Position { line: start.line, column: start.column + chars }
        } else {
            Position { line: start.line + newlines, column: chars + 1 }
        }
    }

    /// A deterministic pseudo-random text of ASCII, newlines and multi-byte characters.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        const PARTS: &[&str] = &["a", "bc", "\n", "é", "😀", "日本", " ", "{\"k\":1}", "\r\n"];
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut out = Vec::new();
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Long plain runs too, so that the fast path is taken.
            if x % 7 == 0 {
                out.extend(std::iter::repeat_n(b'x', (x % 200) as usize));
            } else {
                out.extend_from_slice(PARTS[(x % PARTS.len() as u64) as usize].as_bytes());
            }
        }
        out
    }

    #[test]
    fn vector_and_portable_masks_agree() {
        for seed in 0..300 {
            let text = noise(seed, 64);
            let b: [u8; BLOCK] = text[..BLOCK].try_into().unwrap();
            assert_eq!(masks(&b), masks_portable(&b), "seed {seed}");
        }
        let every: Vec<u8> = (0..=255u8).collect();
        for at in (0..256).step_by(64) {
            let b: [u8; BLOCK] = every[at..at + BLOCK].try_into().unwrap();
            assert_eq!(masks(&b), masks_portable(&b));
        }
        assert_eq!(masks(&[b'x'; BLOCK]), None);
    }

    #[test]
    fn positions_match_a_byte_by_byte_count() {
        let start = Position { line: 7, column: 3 };
        for seed in 0..60 {
            let text = noise(seed, 1 + (seed as usize * 53) % 900);
            // Offsets asked in order, some in the same block, from one counter.
            let mut c = Counter::new(0, start);
            let mut at = 0usize;
            let mut step = seed as usize % 13 + 1;
            while at <= text.len() {
                let from = c.at as usize;
                assert_eq!(c.position_at(&text[from..], at - from), slow(&text, start, at), "seed {seed} at {at}");
                at += step;
                step = step * 7 % 97 + 1;
            }
            // Advanced in parts of every size, the counter ends where the slow count does.
            let mut c = Counter::new(0, start);
            let mut from = 0;
            for len in [1, 63, 64, 65, 0, 200, 5].iter().cycle() {
                let n = (*len).min(text.len() - from);
                c.advance(&text[from..], n);
                from += n;
                assert_eq!(c.position(), slow(&text, start, from), "seed {seed} at {from}");
                if from == text.len() {
                    break;
                }
            }
        }
    }

    #[test]
    fn a_partial_block_is_not_consumed() {
        let text = "é\n".repeat(100);
        let mut c = Counter::new(0, Position { line: 1, column: 1 });
        assert_eq!(c.position_at(text.as_bytes(), 10), Position { line: 4, column: 2 });
        assert_eq!(c.at, 0, "no whole block before byte 10");
        assert_eq!(c.position_at(text.as_bytes(), 150), Position { line: 51, column: 1 });
        assert_eq!(c.at, 128);
        assert_eq!(c.position(), Position { line: 43, column: 2 });
    }
}
