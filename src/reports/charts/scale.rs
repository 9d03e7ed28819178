//! The value axis of a line chart: from zero (or below) to a round number, in round steps.

use super::ValueFormat;

/// The value axis: from zero (or below, for negative values) to a round number above the
/// largest value.
pub(super) struct Scale {
    low: f64,
    high: f64,
    step: f64,
}

impl Scale {
    pub(super) fn new(values: impl Iterator<Item = f64>, format: ValueFormat) -> Scale {
        let (mut low, mut high) = (0.0_f64, 0.0_f64);
        for v in values {
            low = low.min(v);
            high = high.max(v);
        }
        if high <= low {
            high = low
                + if format == ValueFormat::Percent {
                    1.0
                } else {
                    1.0_f64.max(low.abs())
                };
        }
        let step = nice_step((high - low) / 4.0);
        Scale {
            low: (low / step).floor() * step,
            high: (high / step).ceil() * step,
            step,
        }
    }

    pub(super) fn fraction(&self, v: f64) -> f64 {
        (v - self.low) / (self.high - self.low)
    }

    pub(super) fn ticks(&self) -> Vec<f64> {
        let n = ((self.high - self.low) / self.step).round() as i64;
        (0..=n).map(|i| self.low + self.step * i as f64).collect()
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let m = raw / magnitude;
    let nice = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}
