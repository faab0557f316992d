//! How the hashing threads share the CPU with token traffic (Linux; elsewhere they run at
//! normal priority and the pool still bounds them).
//!
//! A *background* hashing thread runs under `SCHED_IDLE`: it gets whatever CPU the runtime's
//! workers leave, and a waking worker preempts it at once, so a saturating sign-in burst
//! adds almost nothing to a token request's latency. Alone, that could starve sign-ins while
//! tokens saturate the node, so beside them run *keepers* at a raised nice value: a keeper
//! takes over a hash that has waited too long, and its nice value is chosen so that,
//! against one busy worker on its core, it gets `cpu_share_percent` of that core.
//! Both are only ever lowered from the default, which needs no privilege.

use std::time::Duration;

/// `sched_prio_to_weight` of the Linux scheduler for nice 0..=19 (kernel/sched/core.c).
const NICE_WEIGHTS: [u32; 20] = [
    1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
];
const WORKER_WEIGHT: f64 = 1024.0;

/// The nice value whose weight against one nice-0 worker comes closest to `percent` % of a
/// core (at most 50 %: nice 0, equal weight).
pub(crate) fn keeper_nice(percent: u8) -> i32 {
    let share = f64::from(percent.clamp(1, 50)) / 100.0;
    let wanted = WORKER_WEIGHT * share / (1.0 - share);
    let nearest = NICE_WEIGHTS
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            let da = (f64::from(**a) - wanted).abs();
            let db = (f64::from(**b) - wanted).abs();
            da.total_cmp(&db)
        })
        .map_or(0, |(nice, _)| nice);
    i32::try_from(nearest).unwrap_or(0)
}

/// The share of one core a keeper at `nice` gets against one busy nice-0 worker.
pub(crate) fn keeper_share(nice: i32) -> f64 {
    let weight = usize::try_from(nice)
        .ok()
        .and_then(|n| NICE_WEIGHTS.get(n))
        .map_or(WORKER_WEIGHT, |w| f64::from(*w));
    weight / (weight + WORKER_WEIGHT)
}

/// Moves the calling thread to `SCHED_IDLE`. Best effort: a platform without it keeps the
/// thread at normal priority (logged once per thread).
pub(crate) fn enter_background() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if let Err(e) =
            set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle)
        {
            tracing::warn!(error = ?e, "password hashing: SCHED_IDLE refused; hashing at normal priority");
        }
    }
}

/// Raises the calling thread's nice value by `offset` over the process's (Linux: per
/// thread), so a server started at another nice value keeps the same ratio to its workers.
pub(crate) fn enter_keeper(offset: i32) {
    #[cfg(target_os = "linux")]
    {
        let me = rustix::thread::gettid();
        let current = rustix::process::getpriority_process(Some(me)).unwrap_or(0);
        let nice = current.saturating_add(offset).min(19);
        if let Err(e) = rustix::process::setpriority_process(Some(me), nice) {
            tracing::warn!(error = %e, nice, "password hashing: nice value refused");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = offset;
}

/// CPU time the calling thread has used (wall-clock-free: what a hash cost, however long
/// it waited for the CPU). `None` where the platform has no per-thread clock.
pub(crate) fn thread_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let secs = u64::try_from(t.tv_sec).ok()?;
        let nanos = u32::try_from(t.tv_nsec).ok()?;
        Some(Duration::new(secs, nanos))
    }
    #[cfg(not(target_os = "linux"))]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_values_give_the_asked_share() {
        assert_eq!(keeper_nice(50), 0);
        assert_eq!(keeper_nice(30), 4);
        assert_eq!(keeper_nice(25), 5);
        assert_eq!(keeper_nice(1), 19);
        // Out of range is clamped, never a priority raise.
        assert_eq!(keeper_nice(90), 0);
        assert_eq!(keeper_nice(0), 19);
        for percent in [5u8, 10, 20, 30, 40, 50] {
            let got = keeper_share(keeper_nice(percent)) * 100.0;
            assert!(
                (got - f64::from(percent)).abs() < 4.0,
                "{percent}% asked, {got:.1}% given"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_keeper_thread_gets_its_nice_value_and_a_background_thread_sched_idle() {
        let (before, after) = std::thread::spawn(|| {
            let me = rustix::thread::gettid();
            let before = rustix::process::getpriority_process(Some(me)).unwrap();
            enter_keeper(7);
            (
                before,
                rustix::process::getpriority_process(Some(me)).unwrap(),
            )
        })
        .join()
        .unwrap();
        assert_eq!(after, (before + 7).min(19));
        let policy = std::thread::spawn(|| {
            enter_background();
            thread_priority::thread_schedule_policy().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(
            policy,
            thread_priority::ThreadSchedulePolicy::Normal(
                thread_priority::NormalThreadSchedulePolicy::Idle
            )
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn thread_cpu_time_moves_with_work() {
        let before = thread_cpu_time().unwrap();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = thread_cpu_time().unwrap();
        assert!(after > before);
    }
}
