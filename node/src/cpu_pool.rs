//! Thread pools for CPU work too long to run on an async worker, each with as many threads as
//! the machine has cores (at most [`MAX_THREADS`]), so such work never holds more cores than
//! there are, and the async workers that read requests and send Raft's heartbeats always get
//! their share.
//!
//! - [`private_key_operations`]: RSA private-key operations (Sign, OAEP Decrypt), a millisecond
//!   each (RSA-4096: several). Run inline they hold a worker; handed over with `block_in_place`
//!   every concurrent call got a thread of its own, 64 connections made 64 runnable threads on
//!   two cores, and the workers serving every other call waited behind them (Sign RSA 2048 p99
//!   ten times its p50).
//! - [`key_generation`]: new private keys (an RSA-4096 key takes a second or more), at a lower
//!   scheduling priority (nice [`GENERATION_NICE`]): the kernel gives them what request handling
//!   leaves, so a generation takes longer on a busy node and nothing else does (Encrypt's p99 grew
//!   fourfold while one connection made RSA-4096 keys at normal priority, docs/benchmarks.md).
//!
//! A job waits asynchronously for a free thread, so the queue is bounded by its callers (each
//! holds a request). A job that panics loses only its own result.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{oneshot, Semaphore};

/// The most threads a pool starts, whatever the core count.
pub const MAX_THREADS: usize = 8;
/// The nice value of the key-generation threads (0 is normal, 19 the lowest priority): a nice-10
/// thread gets about a tenth of the CPU a normal thread competing with it gets.
pub const GENERATION_NICE: i32 = 10;

/// The pool's thread ended before the job's result came back (the job panicked).
#[derive(Debug, thiserror::Error)]
#[error("the worker thread stopped before finishing")]
pub struct WorkerStopped;

type Job = Box<dyn FnOnce() + Send>;

/// Threads that run jobs handed to [`CpuPool::run`].
pub struct CpuPool {
    /// One permit per queue place: a job holds one from submission to its result.
    slots: Semaphore,
    jobs: SyncSender<Job>,
}

/// The pool for RSA private-key operations, at normal priority.
pub fn private_key_operations() -> &'static CpuPool {
    static POOL: OnceLock<CpuPool> = OnceLock::new();
    POOL.get_or_init(|| CpuPool::start("trent-private-key", 0))
}

/// The pool for key generation, at nice [`GENERATION_NICE`].
pub fn key_generation() -> &'static CpuPool {
    static POOL: OnceLock<CpuPool> = OnceLock::new();
    POOL.get_or_init(|| CpuPool::start("trent-key-generation", GENERATION_NICE))
}

impl CpuPool {
    /// Starts one thread per core (at most [`MAX_THREADS`]) named `name-N`, at nice `nice`.
    fn start(name: &str, nice: i32) -> CpuPool {
        let threads = std::thread::available_parallelism().map_or(1, usize::from).clamp(1, MAX_THREADS);
        let (jobs, queue) = mpsc::sync_channel::<Job>(threads);
        let queue = Arc::new(Mutex::new(queue));
        let mut started = 0;
        for index in 0..threads {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{index}"))
                .spawn(move || work_loop(&queue, nice));
            match spawned {
                Ok(_) => started += 1,
                Err(error) => tracing::error!(%error, pool = name, "cannot start a worker thread"),
            }
        }
        // One place per thread that runs; with none, every job fails at once instead of waiting.
        let slots = Semaphore::new(started);
        if started == 0 {
            slots.close();
        }
        CpuPool { slots, jobs }
    }

    /// Runs `work` on one of the pool's threads and returns its result.
    pub async fn run<T, F>(&self, work: F) -> Result<T, WorkerStopped>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let _slot = self.slots.acquire().await.map_err(|_| WorkerStopped)?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        // There are as many permits as the channel has places, and a job holds its permit until
        // its result is back, so the channel has room while we hold one.
        self.jobs.try_send(job).map_err(|_| WorkerStopped)?;
        result.await.map_err(|_| WorkerStopped)
    }
}

fn work_loop(queue: &Mutex<Receiver<Job>>, nice: i32) {
    if nice != 0 {
        set_nice(nice);
    }
    loop {
        let job = {
            let queue = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.recv()
        };
        let Ok(job) = job else {
            return;
        };
        // A panic drops the job's result sender: its caller sees WorkerStopped, the thread lives.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

/// Sets this thread's nice value (on Linux a per-thread attribute). Failure costs only the
/// protection, not the work: it is logged and the thread runs at normal priority.
fn set_nice(nice: i32) {
    // SAFETY: gettid and setpriority take and return plain integers and touch no memory of ours.
    let set = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, nice) };
    if set != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), nice, "cannot lower a worker thread's priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nice_of_this_thread() -> i32 {
        // SAFETY: as in set_nice.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn key_generation_runs_below_the_callers_priority() {
        let (name, nice) = key_generation().run(|| (thread_name(), nice_of_this_thread())).await.unwrap();
        assert!(name.starts_with("trent-key-generation-"), "{name}");
        assert_eq!(nice, GENERATION_NICE);
        assert_eq!(nice_of_this_thread(), 0, "the caller's priority is unchanged");
    }

    #[tokio::test]
    async fn private_key_operations_run_at_normal_priority() {
        let (name, nice) =
            private_key_operations().run(|| (thread_name(), nice_of_this_thread())).await.unwrap();
        assert!(name.starts_with("trent-private-key-"), "{name}");
        assert_eq!(nice, 0);
    }

    #[tokio::test]
    async fn a_panicking_job_loses_its_result_and_not_the_pool() {
        let pool = CpuPool::start("test-panics", 0);
        for _ in 0..MAX_THREADS + 1 {
            assert!(pool.run(|| -> u8 { panic!("planted panic") }).await.is_err());
        }
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_jobs_than_threads_wait_their_turn() {
        let handles: Vec<_> = (0..64u64)
            .map(|n| tokio::spawn(async move { private_key_operations().run(move || n * 2).await }))
            .collect();
        let mut total = 0;
        for handle in handles {
            total += handle.await.unwrap().unwrap();
        }
        assert_eq!(total, (0..64u64).map(|n| n * 2).sum::<u64>());
    }
}
