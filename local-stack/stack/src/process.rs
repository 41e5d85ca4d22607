//! Processes of the stack: each service starts in its own process group (its PID is the
//! group's id), detached from the terminal, with output in its log; stopping signals the
//! whole group, so children (`cargo run` of a function, node workers) go too.

use std::fs::{File, OpenOptions};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use snafu::ResultExt;

use crate::error::{IoSnafu, Result};

fn open_log(log: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .context(IoSnafu {
            what: format!("open {}", log.display()),
        })
}

/// Starts `command` detached in a new process group, output appended to `log`; returns its PID.
pub fn spawn(mut command: Command, log: &Path) -> Result<u32> {
    let out = open_log(log)?;
    let err = out.try_clone().context(IoSnafu {
        what: "duplicate a log handle",
    })?;
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let child = command.spawn().context(IoSnafu {
        what: format!("start {:?}", command.get_program()),
    })?;
    Ok(child.id())
}

/// Runs `command` to completion with output appended to `log`; returns its exit code.
pub fn run(mut command: Command, log: &Path) -> Result<Option<i32>> {
    let out = open_log(log)?;
    let err = out.try_clone().context(IoSnafu {
        what: "duplicate a log handle",
    })?;
    let status = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .context(IoSnafu {
            what: format!("run {:?}", command.get_program()),
        })?;
    Ok(if status.success() {
        None
    } else {
        Some(status.code().unwrap_or(-1))
    })
}

/// The state letter and process group of a process, from `/proc/<pid>/stat` (the fields
/// after the command name are: state, ppid, pgrp, ...).
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = text.rsplit_once(") ")?.1.split(' ');
    let state = fields.next()?.chars().next()?;
    let pgrp = fields.nth(1)?.parse().ok()?;
    Some((state, pgrp))
}

/// Whether a state letter is a live process (not a zombie, not dead).
fn running(state: char) -> bool {
    state != 'Z' && state != 'X'
}

/// Whether a process is alive (a zombie is not; it is reaped when it is ours).
pub fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    let _ = waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG));
    stat(pid).is_some_and(|(state, _)| running(state))
}

/// Whether any process of a group is alive.
pub fn group_alive(pgid: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return alive(pgid);
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .any(|pid| stat(pid).is_some_and(|(state, pgrp)| pgrp == pgid && running(state)))
}

/// Stops a process group: SIGTERM, then SIGKILL after `grace`. Returns whether it was running.
pub fn stop_group(pgid: u32, grace: Duration) -> bool {
    let Ok(raw) = i32::try_from(pgid) else {
        return false;
    };
    let group = Pid::from_raw(raw);
    if killpg(group, Signal::SIGTERM) == Err(Errno::ESRCH) {
        return false;
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !group_alive(pgid) {
            let _ = waitpid(group, Some(WaitPidFlag::WNOHANG));
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = killpg(group, Signal::SIGKILL);
    std::thread::sleep(Duration::from_millis(200));
    let _ = waitpid(group, Some(WaitPidFlag::WNOHANG));
    true
}

/// `N` distinct free TCP ports on 127.0.0.1 (all bound at once, then released).
pub fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let mut listeners = Vec::with_capacity(N);
    let mut ports = [0u16; N];
    for port in &mut ports {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context(IoSnafu {
            what: "find a free port",
        })?;
        *port = listener
            .local_addr()
            .context(IoSnafu {
                what: "find a free port",
            })?
            .port();
        listeners.push(listener);
    }
    Ok(ports)
}
