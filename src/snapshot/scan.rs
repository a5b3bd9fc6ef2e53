//! A structural scanner for JSON bytes, 64 bytes at a time.
//!
//! It finds the brackets that lie outside strings, which is all that two jobs need:
//! bounding the nesting depth of a document ([`too_deep`]) and finding where a container
//! ends ([`Skip`], used to split a large document into pieces that decode in parallel).
//!
//! Per block it builds bit masks of quotes, backslashes, opening and closing brackets
//! (SSE2 on x86_64, exact SWAR elsewhere), marks the characters escaped by a backslash,
//! and turns the unescaped quotes into a mask of string contents by a prefix XOR (the idea
//! of simdjson's stage 1). Only the brackets are then visited one by one, and a snapshot
//! has few of them: a 350-byte user object has about six.
//!
//! The scanner does not validate JSON; serde_json parses every byte it hands on. Its view
//! of strings is exact for valid JSON, and serde_json stops at the first invalid byte, so
//! a mis-read after invalid input can never let a deep value through unparsed.

use super::MAX_DOC_DEPTH;

/// One 64-byte block: bit `i` is set when byte `i` is that character.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Masks {
    pub quote: u64,
    pub backslash: u64,
    /// `{` or `[`.
    pub open: u64,
    /// `}` or `]`.
    pub close: u64,
}

pub(super) const BLOCK: usize = 64;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn masks(b: &[u8; BLOCK]) -> Masks {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let mut m = Masks::default();
    // SAFETY: these intrinsics are `unsafe` because the CPU must support SSE2: this
    // function is only compiled when the `sse2` target feature is enabled for the whole
    // build (it is part of the x86_64 baseline), so every CPU the binary runs on has it.
    // `_mm_loadu_si128` also reads 16 bytes through a pointer, which must be valid for
    // that read and needs no alignment: `part` is a 16-byte chunk of `b` (`chunks_exact`).
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        // `[` | 0x20 == `{` and `]` | 0x20 == `}`: one comparison finds both.
        let case = _mm_set1_epi8(0x20);
        let open = _mm_set1_epi8(b'{' as i8);
        let close = _mm_set1_epi8(b'}' as i8);
        for (i, part) in b.chunks_exact(16).enumerate() {
            let v = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
            let folded = _mm_or_si128(v, case);
            let bits = |x| u64::from(_mm_movemask_epi8(x) as u16) << (16 * i);
            m.quote |= bits(_mm_cmpeq_epi8(v, quote));
            m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
            m.open |= bits(_mm_cmpeq_epi8(folded, open));
            m.close |= bits(_mm_cmpeq_epi8(folded, close));
        }
    }
    m
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn masks(b: &[u8; BLOCK]) -> Masks {
    masks_portable(b)
}

/// The same masks eight bytes at a time, exactly (no false positives after a match).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
pub(super) fn masks_portable(b: &[u8; BLOCK]) -> Masks {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // High bit of each byte of `w` that equals `c`, gathered into the low 8 bits.
    let eq = |w: u64, c: u8| {
        let x = w ^ (ONES * u64::from(c));
        let zero = !(((x & LOW7) + LOW7) | x | LOW7);
        ((zero >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) & 0xff
    };
    let mut m = Masks::default();
    for (i, part) in b.chunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(part);
        let w = u64::from_le_bytes(word);
        let folded = w | (ONES * 0x20);
        m.quote |= eq(w, b'"') << (8 * i);
        m.backslash |= eq(w, b'\\') << (8 * i);
        m.open |= eq(folded, b'{') << (8 * i);
        m.close |= eq(folded, b'}') << (8 * i);
    }
    m
}

/// Bit `i` of the result is the XOR of bits `0..=i` of `x`.
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// What one block leaves to the next.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Carry {
    /// The block ended inside a string.
    in_string: bool,
    /// The block ended with a backslash that escapes the next block's first byte.
    escape: bool,
}

impl Carry {
    /// The opening and closing brackets of a block that lie outside strings.
    pub(super) fn brackets(&mut self, m: &Masks) -> (u64, u64) {
        let mut escaped = u64::from(self.escape);
        self.escape = false;
        // Backslashes are rare: visit them one by one. An escaped backslash escapes nothing.
        let mut starts = m.backslash & !escaped;
        while starts != 0 {
            let p = starts.trailing_zeros();
            if p == 63 {
                self.escape = true;
            } else {
                escaped |= 1 << (p + 1);
                starts &= !(1 << (p + 1));
            }
            starts &= starts - 1;
        }
        let quotes = m.quote & !escaped;
        let inside = prefix_xor(quotes) ^ if self.in_string { !0 } else { 0 };
        self.in_string = inside >> 63 == 1;
        (m.open & !(inside | escaped), m.close & !(inside | escaped))
    }
}

/// The masks of the block at `at`, padded with zeros (never structural) past the end of
/// `b`; a whole block is read in place.
fn block_masks(b: &[u8], at: usize) -> Masks {
    if let Some(whole) = b.get(at..at + BLOCK).and_then(|w| <&[u8; BLOCK]>::try_from(w).ok()) {
        return masks(whole);
    }
    let mut out = [0u8; BLOCK];
    for (o, &c) in out.iter_mut().zip(b.get(at..).unwrap_or_default()) {
        *o = c;
    }
    masks(&out)
}

/// The byte offset of the first `[`/`{` nested deeper than [`MAX_DOC_DEPTH`], if any.
/// serde_json skips ignored values without a depth limit, so this bounds them too.
pub(super) fn too_deep(b: &[u8]) -> Option<usize> {
    Depth::default().scan(b)
}

/// The nesting depth of a document read in parts (see [`too_deep`]).
#[derive(Debug, Default)]
pub(super) struct Depth {
    carry: Carry,
    depth: usize,
}

impl Depth {
    /// Scans the next part of the document: the offset in `b` of the first bracket nested
    /// deeper than [`MAX_DOC_DEPTH`], if any. Every part but the last must be a whole
    /// number of blocks long.
    pub(super) fn scan(&mut self, b: &[u8]) -> Option<usize> {
        self.scan_recording(b, &mut ())
    }

    /// [`scan`](Self::scan), telling `rec` of every bracket and its depth.
    fn scan_recording<R: Record>(&mut self, b: &[u8], rec: &mut R) -> Option<usize> {
        let mut at = 0;
        while at < b.len() {
            let (open, close) = self.carry.brackets(&block_masks(b, at));
            let mut events = open | close;
            while events != 0 {
                let p = events.trailing_zeros();
                if open >> p & 1 == 1 {
                    self.depth += 1;
                    if self.depth > MAX_DOC_DEPTH {
                        return Some(at + p as usize);
                    }
                    rec.bracket(self.depth, at + p as usize);
                } else {
                    rec.bracket(self.depth, at + p as usize);
                    self.depth = self.depth.saturating_sub(1);
                }
                events &= events - 1;
            }
            at += BLOCK;
        }
        None
    }
}

/// What [`Depth`] tells of each bracket: its offset, and its depth (the root's `{` is at 1).
trait Record {
    fn bracket(&mut self, depth: usize, at: usize);
}

impl Record for () {
    #[inline(always)]
    fn bracket(&mut self, _: usize, _: usize) {}
}

/// The brackets of a JSON document at depths 2 and 3, in order: the containers that are
/// members of the root (a collection's `[` and `]`) and their elements' (`{`, `}`). Found
/// by [`too_deep_indexed`] in the scan every document gets anyway, they let the subjects of
/// findings be located without scanning the document again ([`super::locate`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Brackets {
    /// Offsets of the brackets at depth 2, opening and closing in turn.
    pub(super) outer: Vec<u32>,
    /// Offsets of the brackets at depth 3, opening and closing in turn.
    pub(super) inner: Vec<u32>,
    /// The document is ASCII on one line (a JSONL line, mostly): a column is an offset
    /// plus one, and nothing needs counting.
    pub(super) plain: bool,
}

impl Record for Brackets {
    #[inline(always)]
    fn bracket(&mut self, depth: usize, at: usize) {
        // `too_deep_indexed` only records documents whose offsets fit.
        let at = at as u32;
        match depth {
            2 => self.outer.push(at),
            3 => self.inner.push(at),
            _ => {}
        }
    }
}

/// [`too_deep`], recording the brackets at depths 2 and 3 into `index` (cleared first).
/// A document too large for 32-bit offsets (never one read whole: those are at most
/// [`super::MAX_DOC_BYTES`]) is not recorded: `false`.
pub(super) fn too_deep_indexed(b: &[u8], index: &mut Brackets) -> (Option<usize>, bool) {
    index.outer.clear();
    index.inner.clear();
    index.plain = false;
    if u32::try_from(b.len()).is_err() {
        return (too_deep(b), false);
    }
    (Depth::default().scan_recording(b, index), true)
}

/// Finding the end of one container (`{…}` or `[…]`) in a buffer that may not hold all of
/// it yet: feed it blocks with [`Skip::run`] until it is done.
#[derive(Debug)]
pub(super) struct Skip {
    /// Depth of the container's parent in the document (the root object's members are at 1).
    base: usize,
    /// Open brackets inside the container so far (0 before its first byte is seen).
    depth: usize,
    carry: Carry,
}

/// How far [`Skip::run`] got.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Skipped {
    /// The container ends just before this index.
    End(usize),
    /// Call again from this index when more bytes are in the buffer.
    More(usize),
    /// An opening bracket at this index is nested deeper than [`MAX_DOC_DEPTH`].
    TooDeep(usize),
    /// The input ended inside the container.
    Eof,
}

impl Skip {
    /// Skips a container whose opening bracket is at the document depth `base + 1`.
    pub(super) fn new(base: usize) -> Skip {
        Skip { base, depth: 0, carry: Carry::default() }
    }

    /// Scans `b` from `at` (the opening bracket on the first call, then where `More`
    /// said). Blocks are only scanned whole unless `eof`, so the state stays consistent.
    pub(super) fn run(&mut self, b: &[u8], mut at: usize, eof: bool) -> Skipped {
        loop {
            if b.len().saturating_sub(at) < BLOCK && !(eof && at < b.len()) {
                return if eof { Skipped::Eof } else { Skipped::More(at) };
            }
            let (open, close) = self.carry.brackets(&block_masks(b, at));
            let mut events = open | close;
            while events != 0 {
                let p = events.trailing_zeros();
                if open >> p & 1 == 1 {
                    self.depth += 1;
                    if self.base + self.depth > MAX_DOC_DEPTH {
                        return Skipped::TooDeep(at + p as usize);
                    }
                } else {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Skipped::End(at + p as usize + 1);
                    }
                }
                events &= events - 1;
            }
            at += BLOCK;
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "tests index their own fixtures and fail by panicking")]
mod tests {
    use super::*;

    /// The masks and string tracking, byte by byte: the reference the block code must match.
    fn brackets_slow(b: &[u8]) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        let (mut in_string, mut escaped) = (false, false);
        for (i, &c) in b.iter().enumerate() {
            if escaped {
                escaped = false;
                continue;
            }
            match c {
                b'\\' => escaped = true,
                b'"' => in_string = !in_string,
                b'{' | b'[' if !in_string => out.push((i, true)),
                b'}' | b']' if !in_string => out.push((i, false)),
                _ => {}
            }
        }
        out
    }

    fn brackets_fast(b: &[u8]) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        let mut carry = Carry::default();
        let mut at = 0;
        while at < b.len() {
            assert_eq!(block_masks(b, at), masks(&block(b, at)));
            let (open, close) = carry.brackets(&block_masks(b, at));
            for p in 0..64 {
                if open >> p & 1 == 1 {
                    out.push((at + p, true));
                }
                if close >> p & 1 == 1 {
                    out.push((at + p, false));
                }
            }
            at += BLOCK;
        }
        out
    }

    /// A deterministic pseudo-random byte string over the characters that matter.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        const ALPHABET: &[u8] = b"\"\\{}[]az:, \x7b\xff\x5b\x5d";
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ALPHABET[(x % ALPHABET.len() as u64) as usize]
            })
            .collect()
    }

    /// The block at `at`, zero-padded.
    fn block(b: &[u8], at: usize) -> [u8; BLOCK] {
        let mut out = [0u8; BLOCK];
        let rest = &b[at.min(b.len())..];
        let n = rest.len().min(BLOCK);
        out[..n].copy_from_slice(&rest[..n]);
        out
    }

    #[test]
    fn simd_and_portable_masks_agree() {
        for seed in 0..500 {
            let b = block(&noise(seed, 64), 0);
            assert_eq!(masks(&b), masks_portable(&b), "seed {seed}");
        }
        let every: Vec<u8> = (0..=255u8).collect();
        for at in (0..256).step_by(64) {
            let b = block(&every, at);
            assert_eq!(masks(&b), masks_portable(&b));
        }
    }

    #[test]
    fn block_brackets_match_a_byte_by_byte_reading() {
        for seed in 0..300 {
            let b = noise(seed, 1 + (seed as usize * 37) % 700);
            assert_eq!(brackets_fast(&b), brackets_slow(&b), "seed {seed}");
        }
        // Runs of backslashes across a block boundary, odd and even.
        for run in 0..6 {
            let mut b = vec![b' '; 60];
            b.push(b'"');
            b.extend(std::iter::repeat_n(b'\\', run));
            b.extend_from_slice(b"\"[]\" {}");
            assert_eq!(brackets_fast(&b), brackets_slow(&b), "run {run}");
        }
    }

    #[test]
    fn too_deep_finds_the_first_bracket_over_the_limit() {
        let ok = format!("{}{}", "[".repeat(MAX_DOC_DEPTH), "]".repeat(MAX_DOC_DEPTH));
        assert_eq!(too_deep(ok.as_bytes()), None);
        let deep = format!("{{\"a\": \"[[[\", \"b\": {}{}}}", "[".repeat(200), "]".repeat(200));
        let first = deep.find("[[[[").unwrap_or(0);
        assert_eq!(too_deep(deep.as_bytes()), Some(first + MAX_DOC_DEPTH - 1));
        // Brackets inside strings, escaped quotes included, do not count.
        let quoted = format!("[\"\\\"{}\"]", "[".repeat(500));
        assert_eq!(too_deep(quoted.as_bytes()), None);
    }

    #[test]
    fn skip_finds_the_end_across_refills() {
        let doc = br#"{"a": [1, {"b": "}]\"}"}], "c": "x"} tail"#;
        let want = doc.len() - b" tail".len();
        // Whole buffer at once.
        assert_eq!(Skip::new(0).run(doc, 0, true), Skipped::End(want));
        // Growing buffers, as a stream delivers them: More until the block is complete.
        let mut padded = doc.to_vec();
        padded.extend(std::iter::repeat_n(b' ', 100));
        let mut s = Skip::new(0);
        let mut at = 0;
        for len in [10, 63, 64, 80, padded.len()] {
            match s.run(&padded[..len], at, false) {
                Skipped::More(next) => at = next,
                Skipped::End(end) => {
                    assert_eq!(end, want);
                    return;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("never ended");
    }

    #[test]
    fn skip_reports_depth_and_eof() {
        let deep = "[".repeat(MAX_DOC_DEPTH + 5);
        assert_eq!(Skip::new(0).run(deep.as_bytes(), 0, true), Skipped::TooDeep(MAX_DOC_DEPTH));
        assert_eq!(Skip::new(3).run(deep.as_bytes(), 0, true), Skipped::TooDeep(MAX_DOC_DEPTH - 3));
        assert_eq!(Skip::new(0).run(b"[1, 2", 0, true), Skipped::Eof);
    }
}
