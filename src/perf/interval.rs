//! Confidence intervals over repeated independent rounds, and the three-way
//! decision a performance verdict makes from them.
//!
//! A round is one whole measurement (its own measuring processes, its own
//! warm-up): its figure (a median round trip, a rate, a p99) is one sample.
//! - The median of one figure over rounds gets a distribution-free interval
//!   from order statistics: the ranks `k` and `n + 1 - k` whose binomial
//!   coverage is at least the confidence level ([`median_interval`]).
//! - A ratio of two medians (Unix / TCP, lock-free p99 / locked p99, a lead
//!   of one queue over another) gets a percentile bootstrap interval: each
//!   side's rounds resampled independently, a fixed seed, so the same samples
//!   always give the same interval ([`ratio_interval`]).
//!
//! A verdict is `yes` or `no` only when its interval lies wholly on one side
//! of the threshold; otherwise it is inconclusive ([`decide`]).

/// The confidence level of every interval.
pub const LEVEL: f64 = 0.95;

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 4000;

/// The bootstrap's fixed seed: the same samples give the same interval.
pub const SEED: u64 = 0x1bc0_5eed_0fc0_ffee;

/// An estimate with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The point estimate (the median, or the ratio of medians).
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// The interval's confidence level (its actual coverage for an
    /// order-statistic interval, which is at least [`LEVEL`]).
    pub level: f64,
    /// Rounds behind it (the smaller side's for a ratio).
    pub rounds: usize,
}

impl Interval {
    /// No rounds: nothing is known (and nothing is decided from it).
    pub fn undefined() -> Interval {
        Interval {
            estimate: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
            level: 0.0,
            rounds: 0,
        }
    }

    /// Width relative to the estimate.
    pub fn rel_width(&self) -> f64 {
        (self.high - self.low) / self.estimate.abs().max(f64::MIN_POSITIVE)
    }

    /// "95% CI 120–140" with `fmt` for the bounds.
    pub fn describe(&self, fmt: &dyn Fn(f64) -> String) -> String {
        format!(
            "{:.0}% interval {} to {}, {} rounds",
            self.level * 100.0,
            fmt(self.low),
            fmt(self.high),
            self.rounds
        )
    }
}

fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median of `xs` (NaN when empty).
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    median_sorted(&v)
}

/// P(X <= k) for X ~ Binomial(n, 1/2).
fn binom_half_cdf(n: usize, k: usize) -> f64 {
    // Sum of C(n, i) / 2^n, computed in floating point (n is small).
    let mut c = 1.0f64; // C(n, 0)
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        sum += c;
        c = c * (n - i) as f64 / (i + 1) as f64;
    }
    sum / 2f64.powi(n as i32)
}

/// The distribution-free interval of the median: sorted rounds `x(k)` and
/// `x(n+1-k)` for the largest `k` whose coverage `1 - 2 P(Bin(n, 1/2) < k)`
/// is at least `level`. With fewer than 6 rounds no pair reaches 95%: the
/// interval is then the whole range, and its stated level is what the range
/// covers.
pub fn median_interval(xs: &[f64], level: f64) -> Interval {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return Interval::undefined();
    }
    let coverage = |k: usize| 1.0 - 2.0 * binom_half_cdf(n, k - 1);
    let mut k = 1;
    while k < n.div_ceil(2) && coverage(k + 1) >= level {
        k += 1;
    }
    Interval {
        estimate: median_sorted(&v),
        low: v[k - 1],
        high: v[n - k],
        level: if n == 1 { 0.0 } else { coverage(k) },
        rounds: n,
    }
}

/// SplitMix64: a small, well-mixed generator for the bootstrap.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        // Multiply-shift: unbiased enough for n far below 2^32.
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

fn resample_median(xs: &[f64], rng: &mut SplitMix, buf: &mut Vec<f64>) -> f64 {
    buf.clear();
    buf.extend((0..xs.len()).map(|_| xs[rng.below(xs.len())]));
    buf.sort_by(f64::total_cmp);
    median_sorted(buf)
}

/// A statistic of the medians of `sides` (finite values only), with a
/// percentile bootstrap interval: each side resampled independently,
/// [`RESAMPLES`] times, seed [`SEED`].
fn bootstrap(sides: &[&[f64]], stat: fn(&[f64]) -> f64, level: f64) -> Interval {
    let sides: Vec<Vec<f64>> = sides
        .iter()
        .map(|s| s.iter().copied().filter(|x| x.is_finite()).collect())
        .collect();
    let rounds = sides.iter().map(Vec::len).min().unwrap_or(0);
    if rounds == 0 {
        return Interval::undefined();
    }
    let medians: Vec<f64> = sides.iter().map(|s| median(s)).collect();
    let mut rng = SplitMix(SEED);
    let mut buf = Vec::new();
    let mut m = vec![0.0; sides.len()];
    let mut v: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            for (mi, s) in m.iter_mut().zip(&sides) {
                *mi = resample_median(s, &mut rng, &mut buf);
            }
            stat(&m)
        })
        .collect();
    v.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    let at = |q: f64| v[((q * RESAMPLES as f64) as usize).min(RESAMPLES - 1)];
    Interval {
        estimate: stat(&medians),
        low: at(tail),
        high: at(1.0 - tail),
        level,
        rounds,
    }
}

/// The ratio median(a) / median(b) with a percentile bootstrap interval.
pub fn ratio_interval(a: &[f64], b: &[f64], level: f64) -> Interval {
    bootstrap(&[a, b], |m| m[0] / m[1], level)
}

/// The interval of a ratio of two ratios, (a/b) / (c/d): the lead of `a`
/// over `b` against the lead of `c` over `d`.
pub fn lead_change_interval(a: &[f64], b: &[f64], c: &[f64], d: &[f64], level: f64) -> Interval {
    bootstrap(&[a, b, c, d], |m| (m[0] / m[1]) / (m[2] / m[3]), level)
}

/// Where an interval lies against a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Wholly below the threshold.
    Below,
    /// Wholly above it.
    Above,
    /// It contains the threshold (or is undefined).
    Straddles,
}

/// Where `iv` lies against `threshold`.
pub fn side(iv: &Interval, threshold: f64) -> Side {
    if !(iv.low.is_finite() && iv.high.is_finite()) {
        Side::Straddles
    } else if iv.high < threshold {
        Side::Below
    } else if iv.low > threshold {
        Side::Above
    } else {
        Side::Straddles
    }
}

/// A verdict's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Yes,
    No,
    Inconclusive,
}

/// The claim holds when the statistic is below the threshold (`holds_below`)
/// or above it: `yes` when the whole interval is on the claim's side, `no`
/// when it is wholly on the other, otherwise inconclusive.
pub fn decide(iv: &Interval, threshold: f64, holds_below: bool) -> Decision {
    match (side(iv, threshold), holds_below) {
        (Side::Below, true) | (Side::Above, false) => Decision::Yes,
        (Side::Above, true) | (Side::Below, false) => Decision::No,
        (Side::Straddles, _) => Decision::Inconclusive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic jittered samples around `centre` (relative spread `rel`).
    fn around(centre: f64, rel: f64, n: usize, salt: u64) -> Vec<f64> {
        let mut r = SplitMix(salt);
        (0..n)
            .map(|_| centre * (1.0 + rel * ((r.next() % 2001) as f64 / 1000.0 - 1.0)))
            .collect()
    }

    #[test]
    fn binomial_cdf_is_exact_for_small_n() {
        assert!((binom_half_cdf(6, 0) - 1.0 / 64.0).abs() < 1e-12);
        assert!((binom_half_cdf(6, 6) - 1.0).abs() < 1e-12);
        assert!((binom_half_cdf(4, 1) - 5.0 / 16.0).abs() < 1e-12);
    }

    #[test]
    fn median_interval_uses_the_right_order_statistics() {
        // n = 6: only (x1, x6) reaches 95% (coverage 1 - 2/64 = 96.9%).
        let xs = [6.0, 1.0, 5.0, 2.0, 4.0, 3.0];
        let iv = median_interval(&xs, LEVEL);
        assert_eq!(
            (iv.low, iv.high, iv.estimate, iv.rounds),
            (1.0, 6.0, 3.5, 6)
        );
        assert!((iv.level - 0.96875).abs() < 1e-9);
        // n = 20: (x6, x15), coverage 95.9%.
        let xs: Vec<f64> = (1..=20).map(f64::from).collect();
        let iv = median_interval(&xs, LEVEL);
        assert_eq!((iv.low, iv.high), (6.0, 15.0));
        assert!(iv.level >= LEVEL);
        // Too few rounds for 95%: the whole range, and its real level stated.
        let iv = median_interval(&[3.0, 1.0, 2.0], LEVEL);
        assert_eq!((iv.low, iv.high), (1.0, 3.0));
        assert!((iv.level - 0.75).abs() < 1e-9);
        assert!(median_interval(&[], LEVEL).low.is_nan());
    }

    #[test]
    fn bootstrap_is_deterministic_and_brackets_the_ratio() {
        let a = around(42.0, 0.05, 8, 1);
        let b = around(59.0, 0.05, 8, 2);
        let x = ratio_interval(&a, &b, LEVEL);
        assert_eq!(x, ratio_interval(&a, &b, LEVEL));
        assert!(x.low <= x.estimate && x.estimate <= x.high, "{x:?}");
        assert!(x.high < 1.0 && x.low > 0.6, "{x:?}");
        let same = lead_change_interval(&a, &b, &a, &b, LEVEL);
        assert!((same.estimate - 1.0).abs() < 1e-12);
        assert_eq!(side(&same, 1.0), Side::Straddles);
    }

    /// The verdict code answers inconclusive for samples straddling each
    /// threshold, and yes / no for samples far on either side.
    #[test]
    fn verdicts_from_synthetic_samples() {
        // shm + spin below 1 µs (median over rounds).
        let spin = |c: f64| decide(&median_interval(&around(c, 0.3, 8, 3), LEVEL), 1000.0, true);
        assert_eq!(spin(130.0), Decision::Yes);
        assert_eq!(spin(5000.0), Decision::No);
        assert_eq!(spin(1000.0), Decision::Inconclusive);
        assert_eq!(spin(1050.0), Decision::Inconclusive);
        // Ring above 10^9 bytes/s.
        let ring = |c: f64| decide(&median_interval(&around(c, 0.2, 8, 4), LEVEL), 1e9, false);
        assert_eq!(ring(11.2e9), Decision::Yes);
        assert_eq!(ring(0.2e9), Decision::No);
        assert_eq!(ring(1.02e9), Decision::Inconclusive);
        // Unix / TCP (and lock-free p99 / locked p99) below 1.
        let ratio = |u: f64, t: f64| {
            let iv = ratio_interval(&around(u, 0.1, 8, 5), &around(t, 0.1, 8, 6), LEVEL);
            decide(&iv, 1.0, true)
        };
        assert_eq!(ratio(42.0, 59.0), Decision::Yes);
        assert_eq!(ratio(59.0, 42.0), Decision::No);
        assert_eq!(ratio(50.0, 50.5), Decision::Inconclusive);
        assert_eq!(ratio(50.5, 50.0), Decision::Inconclusive);
        // Shared memory's lead at NxN against 1x1 (below 1: it shrank).
        let lead = |s1: f64, q1: f64, sn: f64, qn: f64| {
            let iv = lead_change_interval(
                &around(sn, 0.1, 8, 7),
                &around(qn, 0.1, 8, 8),
                &around(s1, 0.1, 8, 9),
                &around(q1, 0.1, 8, 10),
                LEVEL,
            );
            decide(&iv, 1.0, true)
        };
        assert_eq!(lead(5e6, 1e6, 1e6, 1e6), Decision::Yes);
        assert_eq!(lead(1e6, 1e6, 5e6, 1e6), Decision::No);
        assert_eq!(lead(2e6, 1e6, 2e6, 1e6), Decision::Inconclusive);
    }

    #[test]
    fn an_undefined_interval_decides_nothing() {
        let iv = median_interval(&[f64::NAN], LEVEL);
        assert_eq!(decide(&iv, 1.0, true), Decision::Inconclusive);
    }
}
