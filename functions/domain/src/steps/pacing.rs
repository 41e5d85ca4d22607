//! Waits that adapt: the wait before the next check of an import or a copy, from the task's
//! progress. The first wait is the deployment's interval; then the rate of progress between
//! the last two checks estimates the time left, and the next check comes at half of it (never
//! sooner than the interval, never later than [`MAX_FACTOR`] intervals): a small image is
//! checked again soon, a big one seldom. Without a rate (no progress reported, or none made) the
//! wait doubles, up to the same bound.

use crate::payloads::Pacing;

/// The longest wait, in intervals.
pub const MAX_FACTOR: u64 = 10;

/// The interval when the deployment names none, seconds.
const DEFAULT_POLL_SECONDS: u64 = 30;

/// A progress percentage as EC2 reports it (`"42"`, `"42%"`).
fn percent(progress: Option<&str>) -> Option<f64> {
    let value: f64 = progress?.trim().trim_end_matches('%').parse().ok()?;
    (0.0..=100.0).contains(&value).then_some(value)
}

/// The wait, in seconds, before checking a task that now reports `progress`.
pub fn next_wait(pacing: &Pacing, progress: Option<&str>) -> u64 {
    let base = pacing.poll_seconds.unwrap_or(DEFAULT_POLL_SECONDS).max(1);
    let most = base.saturating_mul(MAX_FACTOR);
    let Some(waited) = pacing.waited.filter(|w| *w > 0) else {
        return base;
    };
    match (percent(pacing.progress.as_deref()), percent(progress)) {
        (Some(before), Some(now)) if now > before => {
            let rate = (now - before) / waited as f64;
            let left = (100.0 - now) / rate;
            // as f64 → u64 saturates; half the time left, within the bounds
            ((left / 2.0).ceil() as u64).clamp(base, most)
        }
        _ => waited.saturating_mul(2).clamp(base, most),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(poll: u64, progress: Option<&str>, waited: Option<u64>) -> Pacing {
        Pacing {
            poll_seconds: Some(poll),
            progress: progress.map(str::to_string),
            waited,
        }
    }

    #[test]
    fn the_first_wait_is_the_interval() {
        assert_eq!(next_wait(&after(30, None, None), Some("0")), 30);
        assert_eq!(next_wait(&Pacing::default(), None), DEFAULT_POLL_SECONDS);
        assert_eq!(next_wait(&after(0, None, None), None), 1, "never 0");
    }

    #[test]
    fn a_fast_task_is_checked_at_the_interval_and_a_slow_one_seldom() {
        // 50 points in 30 s: 30 s left, checked in 15 → the interval
        assert_eq!(next_wait(&after(30, Some("10"), Some(30)), Some("60")), 30);
        // 2 points in 30 s, 80 left: 1200 s left, half is 600 → capped at 10 intervals
        assert_eq!(
            next_wait(&after(30, Some("18"), Some(30)), Some("20%")),
            300
        );
        // 10 points in 60 s, 50 left: 300 s left → 150
        assert_eq!(next_wait(&after(30, Some("40"), Some(60)), Some("50")), 150);
    }

    #[test]
    fn without_progress_the_wait_doubles_up_to_the_bound() {
        let mut waited = 30;
        let mut waits = Vec::new();
        for _ in 0..6 {
            waited = next_wait(&after(30, Some("5"), Some(waited)), Some("5"));
            waits.push(waited);
        }
        assert_eq!(waits, [60, 120, 240, 300, 300, 300]);
        assert_eq!(next_wait(&after(1, None, Some(4)), None), 8);
        assert_eq!(
            next_wait(&after(1, Some("bogus"), Some(4)), Some("250")),
            8,
            "an unreadable progress is no progress"
        );
    }
}
