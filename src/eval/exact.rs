//! The exact sum of integers and decimals, for `avg` (language.md §9.11: "`avg` is computed
//! exactly and yields a decimal"): every double is an integer times a power of two between
//! 2^-1074 and 2^971, so a fixed-point number with 2^-1074 as its unit holds any sum of them
//! (and of 64-bit integers) without rounding. The mean is then rounded once.

/// 32-bit digits, least significant first; digit `i` weighs 2^(32 i - 1074). Enough for
/// 2^-1074 up to 2^1100 (a sum of 2^64 doubles near the largest, or of integers), plus a sign.
const DIGITS: usize = 70;
/// The weight of digit 0 is 2^-UNIT.
const UNIT: i32 = 1074;
/// Additions between two carry propagations: each changes a digit by less than 2^32, and
/// a digit is an `i64`.
const BATCH: u32 = 1 << 30;

#[derive(Debug, Clone)]
pub struct ExactSum {
    digits: Box<[i64; DIGITS]>,
    pending: u32,
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum { digits: Box::new([0; DIGITS]), pending: 0 }
    }
}

impl ExactSum {
    /// Adds a finite double exactly; `false` (and nothing added) for an infinity or NaN.
    pub fn add_f64(&mut self, d: f64) -> bool {
        if !d.is_finite() {
            return false;
        }
        let bits = d.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1 << 52) - 1);
        // d = ±m · 2^e
        let (m, e) = if exp == 0 { (frac, 1 - 1075) } else { (frac | 1 << 52, exp - 1075) };
        self.add_shifted(u128::from(m), e + UNIT, d < 0.0);
        true
    }

    /// Adds an integer exactly.
    pub fn add_i128(&mut self, x: i128) {
        let mag = x.unsigned_abs();
        // In 64-bit halves, each below 2^64 and so below 2^96 once shifted.
        self.add_shifted(mag & u128::from(u64::MAX), UNIT, x < 0);
        self.add_shifted(mag >> 64, UNIT + 64, x < 0);
    }

    /// Adds ±`m` · 2^`offset` units, `m` < 2^64.
    fn add_shifted(&mut self, m: u128, offset: i32, negative: bool) {
        if self.pending >= BATCH {
            self.normalize();
        }
        self.pending += 1;
        let Ok(offset) = u32::try_from(offset) else { return };
        let (idx, shift) = ((offset / 32) as usize, offset % 32);
        let v = m << shift; // < 2^96
        for k in 0..3 {
            let chunk = ((v >> (32 * k)) & 0xffff_ffff) as i64;
            if let Some(digit) = self.digits.get_mut(idx + k) {
                *digit += if negative { -chunk } else { chunk };
            }
        }
    }

    /// Moves carries up: every digit but the last in 0..2^32, the last signed.
    fn normalize(&mut self) {
        let mut carry = 0i64;
        let last = DIGITS - 1;
        for (i, digit) in self.digits.iter_mut().enumerate() {
            let v = *digit + carry;
            if i == last {
                *digit = v;
            } else {
                *digit = v & 0xffff_ffff;
                carry = v >> 32;
            }
        }
        self.pending = 0;
    }

    /// The sum divided by `n`, rounded once to the nearest double (ties to even). Exact
    /// for every mean of 2^-1022 or more in magnitude; below that (subnormal means) the
    /// last step may round a second time.
    pub fn mean(mut self, n: u64) -> f64 {
        if n == 0 {
            return 0.0;
        }
        self.normalize();
        let negative = self.digits.last().is_some_and(|top| *top < 0);
        if negative {
            for digit in self.digits.iter_mut() {
                *digit = -*digit;
            }
            self.normalize();
        }
        // Long division by n, most significant digit first; every digit is now in 0..2^32.
        let n = u128::from(n);
        let mut quotient = [0u64; DIGITS];
        let mut rem: u128 = 0;
        for (q, digit) in quotient.iter_mut().zip(self.digits.iter()).rev() {
            let cur = (rem << 32) | u128::from(*digit as u64);
            *q = (cur / n) as u64;
            rem = cur % n;
        }
        let Some(top) = quotient.iter().rposition(|q| *q != 0) else { return 0.0 };
        // The top three digits (64 to 96 significant bits), with the last bit set when
        // anything below them is not zero ("round to odd"), round once, correctly, to 53.
        let low = top.saturating_sub(2);
        let mut x: u128 = 0;
        for q in quotient.iter().take(top + 1).skip(low).rev() {
            x = (x << 32) | u128::from(*q);
        }
        let below = quotient.iter().take(low).any(|q| *q != 0) || rem != 0;
        x |= u128::from(below);
        let mean = scale(x as f64, 32 * low as i32 - UNIT);
        if negative {
            -mean
        } else {
            mean
        }
    }
}

/// `f` · 2^`k`, exactly unless the result is subnormal.
fn scale(mut f: f64, mut k: i32) -> f64 {
    let pow2 = |j: i32| f64::from_bits(((1023 + j) as u64) << 52);
    while k > 1000 {
        f *= pow2(1000);
        k -= 1000;
    }
    while k < -1000 {
        f *= pow2(-1000);
        k += 1000;
    }
    f * pow2(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(ints: &[i64], decs: &[f64]) -> f64 {
        let mut s = ExactSum::default();
        for d in decs {
            assert!(s.add_f64(*d));
        }
        s.add_i128(ints.iter().map(|i| i128::from(*i)).sum());
        s.mean((ints.len() + decs.len()) as u64)
    }

    #[test]
    fn means_are_exact_then_rounded_once() {
        assert_eq!(mean(&[], &[1.5, 2.5]), 2.0);
        assert_eq!(mean(&[1], &[2.5]), 1.75);
        assert_eq!(mean(&[], &[-1.5, -2.5]), -2.0);
        assert_eq!(mean(&[], &[0.1, 0.2]), 0.15000000000000002);
        // 0.1 + 0.2 + 0.3 in doubles is 0.6000000000000001; the exact sum of the three
        // doubles is 0.6000000000000000055…, whose third is 0.2 (rounded once).
        assert_eq!(mean(&[], &[0.1, 0.2, 0.3]), 0.2);
        // Cancellation that a double sum loses entirely.
        assert_eq!(mean(&[], &[1e300, 1.0, -1e300, 1.0]), 0.5);
        assert_eq!(mean(&[i64::MAX, i64::MAX], &[0.5, 0.5]), 4_611_686_018_427_387_904.0);
        assert_eq!(mean(&[i64::MIN, 1], &[-0.5]), -3_074_457_345_618_258_602.5);
        // The extremes of the double range.
        assert_eq!(mean(&[], &[f64::MAX, f64::MAX]), f64::MAX);
        assert_eq!(mean(&[], &[f64::MAX, -f64::MAX, 4.0]), 4.0 / 3.0);
        assert_eq!(mean(&[], &[f64::MIN_POSITIVE, f64::MIN_POSITIVE]), f64::MIN_POSITIVE);
        assert_eq!(mean(&[], &[0.0, -0.0]), 0.0);
        assert_eq!(mean(&[3], &[-3.0]), 0.0);
        // Integers alone agree with the integer path.
        let x = (1i64 << 53) + 1;
        assert_eq!(mean(&[x, x, x], &[]), 9_007_199_254_740_992.0);
        assert!(!ExactSum::default().add_f64(f64::INFINITY));
    }
}
