//! Work that runs after the answer (S43): the account lookup, the writes and the mail of a
//! sign-up or reset request, so that the response's timing can not tell whether the address
//! has an account. [`Background::settled`] lets tests and shutdown wait for it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Longer than an answer takes to leave the process (well under a millisecond), short
/// enough that nobody waits for their mail.
const START_DELAY: std::time::Duration = std::time::Duration::from_millis(5);

#[derive(Clone, Default)]
pub struct Background {
    inner: Arc<Jobs>,
}

#[derive(Default)]
struct Jobs {
    running: AtomicUsize,
    idle: Notify,
}

/// Counts a job as finished even if it panics or its runtime drops it.
struct Finished(Arc<Jobs>);

impl Drop for Finished {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Background {
    /// Starts `job` on the runtime; it is counted until it ends.
    pub fn spawn(&self, job: impl Future<Output = ()> + Send + 'static) {
        self.inner.running.fetch_add(1, Ordering::AcqRel);
        let finished = Finished(self.inner.clone());
        tokio::spawn(async move {
            let _finished = finished;
            // The answer leaves first: the job would otherwise compete with the tail of the
            // request that started it (its thread, its CPU), and a known address's job does
            // more than an unknown one's (S43). A scheduling delay, not a timeout: nothing
            // depends on when the job ends.
            tokio::time::sleep(START_DELAY).await;
            job.await;
        });
    }

    /// Returns once no job is running.
    pub async fn settled(&self) {
        loop {
            let idle = self.inner.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.inner.running.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}
