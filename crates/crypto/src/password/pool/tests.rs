use argon2::Params;

use super::*;

/// Shut until opened: holds hashing threads busy for as long as a test needs.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = lock(&self.open);
        while !*open {
            open = self
                .opened
                .wait(open)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    fn open(&self) {
        *lock(&self.open) = true;
        self.opened.notify_all();
    }
}

fn settings() -> PoolSettings {
    PoolSettings {
        background: 1,
        keepers: 1,
        cpu_share_percent: 30,
        max_queued: 8,
        max_wait: Duration::from_secs(30),
        policy_blocks: 8,
        expected_cost: Duration::from_millis(1),
        idle_release: Duration::from_secs(3600),
    }
}

/// Holds both of `pool`'s threads (the background thread, then the keeper taking its starved
/// job over) until the gate opens.
async fn hold(
    pool: &Arc<HashPool>,
) -> (Arc<Gate>, tokio::task::JoinHandle<Result<(), CryptoError>>) {
    let gate = Arc::new(Gate::default());
    let (g, p) = (gate.clone(), pool.clone());
    let holder = tokio::spawn(async move { p.run(move |_| g.wait()).await });
    eventually("both threads are held", || pool.in_flight() == 2).await;
    (gate, holder)
}

/// Waits (bounded) for a condition the pool's threads make true.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn work_runs_and_answers() {
    // A cost no job here reaches: on a busy machine the background thread may wait for
    // the CPU, and a keeper must not step in (that is another test) and double the gauge.
    let pool = HashPool::start(PoolSettings {
        expected_cost: Duration::from_secs(60),
        ..settings()
    })
    .unwrap();
    assert_eq!(pool.run(|_| 41 + 1).await.unwrap(), 42);
    // The gauge comes down just after the answer is sent.
    eventually("the hash ends", || pool.in_flight() == 0).await;
    assert_eq!(pool.peak_in_flight(), 1);
}

#[tokio::test]
async fn the_keeper_takes_over_a_hash_stuck_on_a_starved_background_thread() {
    // The first copy (the background thread's) never gets the CPU here: it waits on the
    // gate. The keeper computes the job again once it is overdue, and that answers.
    let pool = HashPool::start(settings()).unwrap();
    let gate = Arc::new(Gate::default());
    let copies = Arc::new(AtomicUsize::new(0));
    let (g, c) = (gate.clone(), copies.clone());
    let answer = pool
        .run(move |_| {
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                g.wait();
                "background"
            } else {
                "keeper"
            }
        })
        .await
        .unwrap();
    assert_eq!(answer, "keeper");
    assert_eq!(copies.load(Ordering::SeqCst), 2);
    gate.open();
    eventually("the background copy ends", || pool.in_flight() == 0).await;
    assert_eq!(
        pool.peak_in_flight(),
        2,
        "one background copy, one keeper copy"
    );
}

fn running(since: Instant, taken_over: bool) -> Running {
    Running {
        task: Arc::new(Pending {
            work: |_: &mut HashMemory| (),
            answer: Mutex::new(None),
            state: AtomicU8::new(RUNNING),
        }),
        since,
        taken_over,
    }
}

#[test]
fn a_keeper_steps_in_only_for_starved_background_threads() {
    let now = Instant::now();
    let grace = Duration::from_millis(100);
    let fresh = now - Duration::from_millis(30);
    let old = now - Duration::from_millis(150);
    let at = (now, grace);
    // A long queue behind background threads that keep up is theirs: wait until the
    // running jobs would become overdue.
    assert_eq!(
        keeper_pick(&[running(fresh, false)], 50, 1, at),
        Pick::Wait(Some(fresh + grace))
    );
    // A job running longer than the grace is starved: taken over, once.
    assert_eq!(
        keeper_pick(&[running(fresh, false), running(old, false)], 0, 2, at),
        Pick::TakeOver(1)
    );
    // With every background thread stuck, the keeper takes from the queue...
    assert_eq!(keeper_pick(&[running(old, true)], 3, 1, at), Pick::Queued);
    // ...but not while another background thread keeps up, nor with nothing queued.
    assert_eq!(
        keeper_pick(&[running(old, true), running(fresh, false)], 3, 2, at),
        Pick::Wait(Some(fresh + grace))
    );
    assert_eq!(
        keeper_pick(&[running(old, true)], 0, 1, at),
        Pick::Wait(None)
    );
    // Idle background threads take queued work themselves.
    assert_eq!(keeper_pick(&[], 3, 1, at), Pick::Wait(None));
}

#[tokio::test]
async fn a_full_queue_is_refused_at_once_and_the_queued_work_still_runs() {
    let pool = Arc::new(
        HashPool::start(PoolSettings {
            max_queued: 2,
            ..settings()
        })
        .unwrap(),
    );
    let gate = Arc::new(Gate::default());
    let ran = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let job = |n: usize| {
        let (g, r) = (gate.clone(), ran.clone());
        move |_: &mut HashMemory| {
            lock(&r).insert(n);
            g.wait();
        }
    };
    let mut held = Vec::new();
    // Both threads (background, then the keeper taking the same job over) end up waiting.
    let (p, first) = (pool.clone(), job(0));
    held.push(tokio::spawn(async move { p.run(first).await }));
    eventually("both threads are held", || pool.in_flight() == 2).await;
    for n in 1..=2 {
        let (p, queued) = (pool.clone(), job(n));
        held.push(tokio::spawn(async move { p.run(queued).await }));
    }
    eventually("two are queued", || pool.queued() == 2).await;
    let refused = pool.run(|_| ()).await;
    assert!(
        matches!(refused, Err(CryptoError::Busy { retry_after_secs }) if retry_after_secs >= 1),
        "{refused:?}"
    );
    gate.open();
    for job in held {
        job.await.unwrap().unwrap();
    }
    assert_eq!(*lock(&ran), [0, 1, 2].into_iter().collect());
}

#[tokio::test]
async fn work_that_waits_too_long_is_refused_busy_and_never_runs() {
    let pool = Arc::new(
        HashPool::start(PoolSettings {
            max_wait: Duration::from_millis(50),
            ..settings()
        })
        .unwrap(),
    );
    let (gate, holder) = hold(&pool).await;
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let late = pool
        .run(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .await;
    assert!(matches!(late, Err(CryptoError::Busy { .. })), "{late:?}");
    gate.open();
    holder.await.unwrap().unwrap();
    // FIFO: work queued after the refused job runs only once the refused one was passed.
    pool.run(|_| ()).await.unwrap();
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "refused work must not run later"
    );
}

#[tokio::test]
async fn work_refused_for_waiting_too_long_holds_no_place_in_the_queue() {
    let pool = Arc::new(
        HashPool::start(PoolSettings {
            max_queued: 1,
            max_wait: Duration::from_millis(50),
            ..settings()
        })
        .unwrap(),
    );
    let (gate, holder) = hold(&pool).await;
    let late = pool.run(|_| ()).await;
    assert!(matches!(late, Err(CryptoError::Busy { .. })), "{late:?}");
    // The refused job is still in the one place; the next one takes the place over.
    let p = pool.clone();
    let next = tokio::spawn(async move { p.run(|_| ()).await });
    eventually("the next job holds the place", || {
        let queue = lock(&pool.shared.queue);
        queue.waiting.len() == 1 && queue.waiting[0].task.state().load(Ordering::SeqCst) == QUEUED
    })
    .await;
    gate.open();
    holder.await.unwrap().unwrap();
    // Run, or refused in turn if the machine was slow to open the gate: answered either way.
    let _ = next.await.unwrap();
}

#[tokio::test]
async fn work_whose_caller_went_away_is_skipped() {
    let pool = Arc::new(HashPool::start(settings()).unwrap());
    let (gate, holder) = hold(&pool).await;
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let p = pool.clone();
    let gone = tokio::spawn(async move {
        p.run(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .await
    });
    eventually("it is queued", || pool.queued() == 1).await;
    gone.abort();
    assert!(gone.await.unwrap_err().is_cancelled());
    gate.open();
    holder.await.unwrap().unwrap();
    pool.run(|_| ()).await.unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn idle_threads_give_their_memory_back() {
    let pool = HashPool::start(PoolSettings {
        policy_blocks: 64,
        idle_release: Duration::from_secs(1),
        ..settings()
    })
    .unwrap();
    let params = Params::new(64, 1, 1, None).unwrap();
    let salt = argon2::password_hash::SaltString::encode_b64(b"sixteen byte slt").unwrap();
    let (p, s) = (params.clone(), salt.clone());
    pool.run(move |memory| memory.hash_phc(&p, b"pw", s.as_salt()))
        .await
        .unwrap()
        .unwrap();
    // Held (counted as the block is made, before the answer) while the thread may be
    // asked again...
    let first = pool.held_bytes();
    assert!(first >= 64 * 1024, "{first}");
    // ...and given back once it has been idle.
    eventually("the memory is released", || pool.held_bytes() == 0).await;
}

#[tokio::test]
async fn a_larger_foreign_hash_does_not_keep_its_larger_block() {
    let pool = HashPool::start(PoolSettings {
        policy_blocks: 64,
        ..settings()
    })
    .unwrap();
    let larger = Params::new(512, 1, 1, None).unwrap();
    let salt = argon2::password_hash::SaltString::encode_b64(b"sixteen byte slt").unwrap();
    pool.run(move |memory| memory.hash_phc(&larger, b"pw", salt.as_salt()))
        .await
        .unwrap()
        .unwrap();
    // Dropped right after the check (the threads here never idle long enough to release).
    eventually("the larger block is dropped", || pool.held_bytes() == 0).await;
}

#[tokio::test]
async fn a_closed_pool_refuses_queued_and_later_work() {
    let pool = Arc::new(HashPool::start(settings()).unwrap());
    let (gate, holder) = hold(&pool).await;
    let p = pool.clone();
    let queued = tokio::spawn(async move { p.run(|_| ()).await });
    eventually("it is queued", || pool.queued() == 1).await;
    // What dropping the pool does (the tasks still hold it here).
    pool.shared.close();
    assert!(matches!(
        queued.await.unwrap(),
        Err(CryptoError::PoolUnavailable)
    ));
    gate.open();
    holder.await.unwrap().unwrap();
    assert!(matches!(
        pool.run(|_| ()).await,
        Err(CryptoError::PoolUnavailable)
    ));
}
