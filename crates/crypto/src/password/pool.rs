//! The hashing threads: a fixed set of OS threads that own their argon2 memory
//! ([`HashMemory`]) and take password work from one bounded queue.
//!
//! There are two kinds of thread (see `priority`): background threads under `SCHED_IDLE`
//! that take the next job at once, and keepers at a raised nice value that step in only when
//! the background threads are *starved*: a job has run on one for longer than the hash would
//! take at the configured CPU share. A keeper then takes that job over, and takes queued
//! jobs as long as every background thread is stuck so. A queue that is long only because
//! sign-ins outnumber the cores is left to the background threads: the keepers' priority is
//! for getting the share, not for cutting the queue. A job taken over is computed again
//! (argon2 can not be moved between threads); whichever copy finishes first answers, and the
//! background copy only ever runs on CPU that nothing else wants.
//!
//! Each thread holds at most one block of argon2 memory, so the pool's memory is bounded by
//! its thread count × `m_cost`. The queue is bounded twice: a job that has not started after
//! `max_wait` is answered `Busy` with a retry estimate, and a full queue answers `Busy` at
//! once. A job whose caller has gone (client disconnect) is skipped, not computed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use lanyard_core::locks::lock;
use tokio::sync::oneshot;

use super::memory::HashMemory;
use super::priority;
use crate::CryptoError;

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const FINISHED: u8 = 2;

#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolSettings {
    /// Threads that take work at once, under `SCHED_IDLE`.
    pub background: usize,
    /// Threads that take overdue work, at the nice value of `cpu_share_percent`.
    pub keepers: usize,
    /// The share of a core a keeper gets against one busy runtime worker.
    pub cpu_share_percent: u8,
    pub max_queued: usize,
    pub max_wait: Duration,
    /// The blocks a policy hash needs: a thread keeps no larger block after a job.
    pub policy_blocks: usize,
    /// What one policy hash costs on an idle core (measured at startup).
    pub expected_cost: Duration,
    /// A hashing thread that has had nothing to do for this long gives its memory back.
    pub idle_release: Duration,
}

/// One unit of password work, type-erased for the queue.
trait Task: Send + Sync {
    fn run(&self, memory: &mut HashMemory);
    /// The caller is gone: nobody would read the answer.
    fn abandoned(&self) -> bool;
    fn refuse(&self, error: CryptoError);
    fn state(&self) -> &AtomicU8;
}

struct Pending<T, F> {
    work: F,
    answer: Mutex<Option<oneshot::Sender<Result<T, CryptoError>>>>,
    state: AtomicU8,
}

impl<T, F> Task for Pending<T, F>
where
    T: Send + 'static,
    F: Fn(&mut HashMemory) -> T + Send + Sync,
{
    fn run(&self, memory: &mut HashMemory) {
        let result = (self.work)(memory);
        if let Some(answer) = lock(&self.answer).take() {
            let _ = answer.send(Ok(result));
        }
    }

    fn abandoned(&self) -> bool {
        lock(&self.answer).as_ref().is_none_or(|a| a.is_closed())
    }

    fn refuse(&self, error: CryptoError) {
        if let Some(answer) = lock(&self.answer).take() {
            let _ = answer.send(Err(error));
        }
    }

    fn state(&self) -> &AtomicU8 {
        &self.state
    }
}

struct Queued {
    task: Arc<dyn Task>,
}

struct Running {
    task: Arc<dyn Task>,
    since: Instant,
    /// A keeper has taken it over (at most once).
    taken_over: bool,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Queued>,
    running: Vec<Running>,
    closed: bool,
}

struct Shared {
    settings: PoolSettings,
    queue: Mutex<Queue>,
    /// Background threads wait here for work.
    work: Condvar,
    /// Keepers wait here for work to become overdue.
    overdue: Condvar,
    /// EWMA of a job's CPU time, in µs: how long a hash takes when it has the core.
    cost_micros: AtomicU64,
    /// The share of a core a keeper gets at its nice value (`priority::keeper_share`).
    keeper_share: f64,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    /// Bytes of argon2 memory the threads hold.
    held: Arc<AtomicUsize>,
}

pub(crate) struct HashPool {
    shared: Arc<Shared>,
}

impl HashPool {
    pub(crate) fn start(settings: PoolSettings) -> Result<HashPool, CryptoError> {
        let nice = priority::keeper_nice(settings.cpu_share_percent);
        let shared = Arc::new(Shared {
            settings,
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            overdue: Condvar::new(),
            cost_micros: AtomicU64::new(micros(settings.expected_cost)),
            keeper_share: priority::keeper_share(nice),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            held: Arc::new(AtomicUsize::new(0)),
        });
        for n in 0..settings.background {
            let background = shared.clone();
            spawn(format!("lanyard-hash-{n}"), move || {
                priority::enter_background();
                background.serve_background();
            })?;
        }
        for n in 0..settings.keepers {
            let keeper = shared.clone();
            spawn(format!("lanyard-hash-keep-{n}"), move || {
                priority::enter_keeper(nice);
                keeper.serve_keeper();
            })?;
        }
        Ok(HashPool { shared })
    }

    /// Runs `work` on a hashing thread and answers its result; `Busy` when the queue is
    /// full or the work has not started within the configured wait.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, CryptoError>
    where
        T: Send + 'static,
        F: Fn(&mut HashMemory) -> T + Send + Sync + 'static,
    {
        let (answer, result) = oneshot::channel();
        let task: Arc<dyn Task> = Arc::new(Pending {
            work,
            answer: Mutex::new(Some(answer)),
            state: AtomicU8::new(QUEUED),
        });
        {
            let mut queue = lock(&self.shared.queue);
            if queue.closed {
                return Err(CryptoError::PoolUnavailable);
            }
            if queue.waiting.len() >= self.shared.settings.max_queued {
                // Jobs already answered `Busy` (they waited too long) hold no place.
                queue
                    .waiting
                    .retain(|q| q.task.state().load(Ordering::SeqCst) == QUEUED);
                if queue.waiting.len() >= self.shared.settings.max_queued {
                    return Err(self.shared.busy(&queue));
                }
            }
            queue.waiting.push_back(Queued { task: task.clone() });
        }
        self.shared.work.notify_one();
        self.shared.overdue.notify_all();
        let mut result = result;
        match tokio::time::timeout(self.shared.settings.max_wait, &mut result).await {
            Ok(answer) => answer.map_err(|_| CryptoError::PoolUnavailable)?,
            Err(_) => {
                // Not started in time: take it back. A job that did start is answered
                // when it ends (one hash, bounded).
                if task
                    .state()
                    .compare_exchange(QUEUED, FINISHED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    let queue = lock(&self.shared.queue);
                    return Err(self.shared.busy(&queue));
                }
                result.await.map_err(|_| CryptoError::PoolUnavailable)?
            }
        }
    }

    /// Hash computations running now (background and keeper copies both count).
    pub(crate) fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn peak_in_flight(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// Jobs waiting for a thread.
    pub(crate) fn queued(&self) -> usize {
        lock(&self.shared.queue).waiting.len()
    }

    /// Bytes of argon2 memory the hashing threads hold now (none when idle).
    pub(crate) fn held_bytes(&self) -> usize {
        self.shared.held.load(Ordering::SeqCst)
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.shared.close();
    }
}

/// What a keeper does next.
#[derive(Debug, PartialEq, Eq)]
enum Pick {
    /// Compute the job running (starved) on background thread entry `i` again.
    TakeOver(usize),
    /// Take the next queued job: every background thread is starved.
    Queued,
    /// Nothing to do until a running job becomes overdue (if one will) or news arrives.
    Wait(Option<Instant>),
}

/// The keeper's rule: a background job is starved once it has run longer than `grace`; a
/// starved job is taken over once, and queued jobs are taken only while every background
/// thread is starved.
fn keeper_pick(
    running: &[Running],
    waiting: usize,
    background: usize,
    (now, grace): (Instant, Duration),
) -> Pick {
    let overdue = |r: &Running| r.since + grace <= now;
    if let Some(i) = running.iter().position(|r| !r.taken_over && overdue(r)) {
        return Pick::TakeOver(i);
    }
    let starved = running.len() >= background && running.iter().all(overdue);
    if starved && waiting > 0 {
        return Pick::Queued;
    }
    Pick::Wait(
        running
            .iter()
            .filter(|r| !overdue(r))
            .map(|r| r.since + grace)
            .min(),
    )
}

fn spawn(name: String, body: impl FnOnce() + Send + 'static) -> Result<(), CryptoError> {
    std::thread::Builder::new()
        .name(name)
        .spawn(body)
        .map(drop)
        .map_err(|_| CryptoError::PoolUnavailable)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

impl Shared {
    /// Refuses what is queued and everything after; the threads finish what they run and
    /// exit.
    fn close(&self) {
        let mut queue = lock(&self.queue);
        queue.closed = true;
        for queued in queue.waiting.drain(..) {
            queued.task.refuse(CryptoError::PoolUnavailable);
        }
        drop(queue);
        self.work.notify_all();
        self.overdue.notify_all();
    }

    fn serve_background(&self) {
        let mut memory = HashMemory::counted(self.held.clone());
        let mut queue = lock(&self.queue);
        loop {
            if queue.closed {
                return;
            }
            let Some(next) = queue.waiting.pop_front() else {
                let (guard, wait) = self
                    .work
                    .wait_timeout(queue, self.settings.idle_release)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                queue = guard;
                if wait.timed_out() && queue.waiting.is_empty() {
                    memory.release();
                }
                continue;
            };
            if !self.claim(&*next.task) {
                continue;
            }
            queue.running.push(Running {
                task: next.task.clone(),
                since: Instant::now(),
                taken_over: false,
            });
            drop(queue);
            self.overdue.notify_all();
            self.compute(&*next.task, &mut memory);
            queue = lock(&self.queue);
            queue.running.retain(|r| !Arc::ptr_eq(&r.task, &next.task));
            self.overdue.notify_all();
        }
    }

    fn serve_keeper(&self) {
        let mut memory = HashMemory::counted(self.held.clone());
        let mut queue = lock(&self.queue);
        loop {
            if queue.closed {
                return;
            }
            let now = Instant::now();
            let pick = keeper_pick(
                &queue.running,
                queue.waiting.len(),
                self.settings.background,
                (now, self.grace()),
            );
            let mut next_due = None;
            let task = match pick {
                Pick::TakeOver(i) => queue.running.get_mut(i).map(|running| {
                    running.taken_over = true;
                    running.task.clone()
                }),
                Pick::Queued => {
                    let Some(next) = queue.waiting.pop_front() else {
                        continue;
                    };
                    if !self.claim(&*next.task) {
                        continue;
                    }
                    Some(next.task)
                }
                Pick::Wait(due) => {
                    next_due = due;
                    None
                }
            };
            if let Some(task) = task {
                drop(queue);
                self.compute(&*task, &mut memory);
                queue = lock(&self.queue);
                continue;
            }
            let idle = queue.waiting.is_empty() && queue.running.is_empty();
            let release = self.settings.idle_release;
            let wait = next_due.map_or(release, |at| at.saturating_duration_since(now));
            let (guard, timeout) = self
                .overdue
                .wait_timeout(queue, wait.min(release))
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            queue = guard;
            if timeout.timed_out() && idle {
                memory.release();
            }
        }
    }

    /// Queued → running, unless the caller took it back or went away.
    fn claim(&self, task: &dyn Task) -> bool {
        if task
            .state()
            .compare_exchange(QUEUED, RUNNING, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        if task.abandoned() {
            task.state().store(FINISHED, Ordering::SeqCst);
            return false;
        }
        true
    }

    fn compute(&self, task: &dyn Task, memory: &mut HashMemory) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let cpu_before = priority::thread_cpu_time();
        let wall_before = Instant::now();
        task.run(memory);
        let cost = match (cpu_before, priority::thread_cpu_time()) {
            (Some(before), Some(after)) => after.saturating_sub(before),
            _ => wall_before.elapsed(),
        };
        task.state().store(FINISHED, Ordering::SeqCst);
        memory.shrink_to(self.settings.policy_blocks);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        // A job far from the usual (a bcrypt or PBKDF2 check) still moves the average,
        // by an eighth: the grace follows the mix of work the node actually sees.
        let old = self.cost_micros.load(Ordering::Relaxed);
        let new = (old * 7 + micros(cost)) / 8;
        self.cost_micros.store(new.max(1), Ordering::Relaxed);
    }

    /// How long a job may run on a background thread before a keeper takes it over: its CPU
    /// cost at the keeper's share (a background thread slower than that is starved).
    fn grace(&self) -> Duration {
        let cost = Duration::from_micros(self.cost_micros.load(Ordering::Relaxed));
        cost.div_f64(self.keeper_share)
    }

    /// `Busy`, with the time the jobs ahead should take at the keepers' pace.
    fn busy(&self, queue: &Queue) -> CryptoError {
        let ahead = queue.waiting.len() + queue.running.len();
        let per_keeper = ahead.div_ceil(self.settings.keepers.max(1));
        let secs = self.grace().as_secs_f64() * per_keeper as f64;
        CryptoError::Busy {
            retry_after_secs: secs.ceil().clamp(1.0, 60.0) as u64,
        }
    }
}

#[cfg(test)]
mod tests;
