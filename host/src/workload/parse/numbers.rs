//! Numbers and clocks as the load tools print them: finite floats (with an exact
//! fast path for short decimals, most of a busy stream's numbers), Java's
//! `DecimalFormat("#.##")` (a decimal point or comma), plain counters, and Java
//! YCSB's wall-clock timestamps.

/// Seconds since 1970 of the `yyyy-MM-dd HH:mm:ss:SSS` that ends `text` (the
/// JVM's local time; only differences between lines matter).
pub(super) fn java_timestamp(text: &str) -> Option<f64> {
    let stamp = text.get(text.len().checked_sub(23)?..)?;
    let b = stamp.as_bytes();
    let sep_ok = b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b':';
    if !sep_ok {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = stamp.get(range)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second, milli) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(secs as f64 + milli as f64 / 1000.0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
/// A finite float, or nothing.
pub(super) fn finite(s: &str) -> Option<f64> {
    exact_decimal(s.as_bytes()).or_else(|| s.parse::<f64>().ok().filter(|v| v.is_finite()))
}

/// Clamp to a finite, non-negative number (0 otherwise).
pub(super) fn non_negative(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v } else { 0.0 }
}
/// A number printed by Java's `DecimalFormat("#.##")`: digits with at most one
/// decimal separator, which is `.` or, in some locales, `,` (the pattern has no
/// grouping, so a comma is never a thousands separator). `NaN`, `∞` and the like
/// give `None`.
pub(super) fn java_number(s: &str) -> Option<f64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut comma = false;
    let mut separators = 0;
    let mut any_digit = false;
    for &c in digits.as_bytes() {
        match c {
            b'0'..=b'9' => any_digit = true,
            b'.' => separators += 1,
            b',' => {
                separators += 1;
                comma = true;
            }
            _ => return None,
        }
    }
    if !any_digit || separators > 1 {
        return None;
    }
    // The decimal comma is rare; only it pays for a copy.
    let v: f64 = if let Some(v) = exact_decimal(digits.as_bytes()) {
        v
    } else if comma {
        digits.replace(',', ".").parse().ok()?
    } else {
        digits.parse().ok()?
    };
    let v = if negative { -v } else { v };
    v.is_finite().then_some(v)
}

/// `123.45` with at most 15 digits, as `12345 / 10^2`: both operands
/// are exact in an f64 and one division rounds correctly, so this is the value
/// `str::parse` gives, without its general algorithm. Longer numbers: `None`.
fn exact_decimal(digits: &[u8]) -> Option<f64> {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let mut mantissa: u64 = 0;
    let mut decimals = None;
    let mut count = 0;
    for (i, &c) in digits.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                count += 1;
                if count > 15 {
                    return None;
                }
            }
            b'.' if decimals.is_none() => decimals = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if count == 0 {
        return None;
    }
    Some(mantissa as f64 / POWERS[decimals.unwrap_or(0)])
}

/// Digits only, no sign or separator, fitting in a u64.
pub(super) fn plain_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &c| {
        let digit = c.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The fast path of `java_number` gives exactly what `str::parse` gives.
        #[test]
        fn exact_decimal_is_parse(number in "[0-9]{0,16}(\\.[0-9]{0,16})?") {
            if let Some(fast) = exact_decimal(number.as_bytes()) {
                let parsed: f64 = number.parse().unwrap();
                prop_assert_eq!(fast.to_bits(), parsed.to_bits());
            }
        }
    }
}
