//! One `trentd server` process inside its node's network namespace, and the signals the
//! nemeses send it: SIGKILL (crash), SIGTERM (clean stop), SIGSTOP/SIGCONT (pause).

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::HarnessError;

/// A node's process: how to start it, and the running child if any.
pub struct NodeProcess {
    /// The node's number (1-based), also its Raft node id.
    pub id: u8,
    namespace: String,
    program: PathBuf,
    args: Vec<String>,
    log_path: PathBuf,
    child: Option<Child>,
    paused: bool,
}

impl NodeProcess {
    /// A node that runs `program args…` in `namespace`, appending its output to `log_path`.
    pub fn new(
        id: u8,
        namespace: String,
        program: PathBuf,
        args: Vec<String>,
        log_path: PathBuf,
    ) -> NodeProcess {
        NodeProcess { id, namespace, program, args, log_path, child: None, paused: false }
    }

    /// Starts the process, its wall clock shifted by `clock_offset_ms`.
    pub fn start(&mut self, clock_offset_ms: i64) -> Result<(), HarnessError> {
        let log =
            OpenOptions::new().create(true).append(true).open(&self.log_path).map_err(|error| {
                HarnessError::io(format!("cannot open {}", self.log_path.display()), error)
            })?;
        let log_err = log.try_clone().map_err(|error| HarnessError::io("cannot duplicate the log", error))?;
        // `ip netns exec` execs the program: the child's pid is trentd's.
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.namespace])
            .arg(&self.program)
            .args(&self.args)
            .arg(format!("--clock-offset-ms={clock_offset_ms}"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(true);
        // SAFETY: prctl(PR_SET_PDEATHSIG) between fork and exec touches no memory; it makes the
        // kernel SIGKILL the node if the harness dies without cleaning up (even by SIGKILL).
        // The setting survives `ip netns exec`'s exec of trentd.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let child = command
            .spawn()
            .map_err(|error| HarnessError::io(format!("cannot start node {}", self.id), error))?;
        self.child = Some(child);
        self.paused = false;
        Ok(())
    }

    /// Whether the process has been started and not yet reaped.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Whether the process is stopped by SIGSTOP.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// SIGKILL, then reap.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        self.paused = false;
    }

    /// SIGTERM and wait up to `within` for a clean exit; SIGKILL after that.
    pub async fn terminate(&mut self, within: Duration) {
        if self.paused {
            self.resume();
        }
        if self.signal(libc::SIGTERM) {
            if let Some(child) = &mut self.child {
                if tokio::time::timeout(within, child.wait()).await.is_ok() {
                    self.child = None;
                    return;
                }
            }
        }
        self.kill().await;
    }

    /// SIGSTOP: the process stops where it is, connections stay open.
    pub fn pause(&mut self) {
        if self.signal(libc::SIGSTOP) {
            self.paused = true;
        }
    }

    /// SIGCONT after [`NodeProcess::pause`].
    pub fn resume(&mut self) {
        self.signal(libc::SIGCONT);
        self.paused = false;
    }

    /// The process's output so far (for failure messages).
    pub fn log_path(&self) -> &PathBuf {
        &self.log_path
    }

    fn signal(&self, signal: libc::c_int) -> bool {
        let Some(pid) = self.child.as_ref().and_then(Child::id) else {
            return false;
        };
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: kill(2) with a pid we spawned and have not reaped; no memory is involved.
        unsafe { libc::kill(pid, signal) == 0 }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // A stopped process would ignore nothing, but continue it so kill_on_drop's SIGKILL is
        // not left pending behind a stop.
        if self.paused {
            self.signal(libc::SIGCONT);
        }
    }
}
