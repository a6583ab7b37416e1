//! Who runs a trial. Every storage handle has an owner token naming its host, process and a
//! nonce; a running trial records its owner and a lease that the owner's heartbeat renews. A
//! trial is stale, and may be failed by anyone, when its lease has expired, or at once when its
//! owner was a process on this host that no longer exists.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

/// How long a claimed trial stays its owner's without a heartbeat, by default.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// The owner tokens of this process's storage handles that are still open: a token of this
/// process missing here belonged to a handle that was dropped (a study that died with a panic).
static LIVE: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// The environment variable a supervisor sets to name the worker it starts; the worker's
/// storage handles carry the name in their owner tokens ([`OwnerToken::worker`]).
pub const WORKER_TAG_VARIABLE: &str = "ANNEAL_WORKER_TAG";

/// An owner token read back into its parts: `namespace@host/pid/start/[worker-]nonce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerToken<'a> {
    /// The pid namespace of the process (its `/proc/self/ns/pid` link, or `pid`).
    pub namespace: &'a str,
    /// The host's name.
    pub host: &'a str,
    /// The process id.
    pub pid: u32,
    /// The process's start time in clock ticks since boot (0 where unknown).
    pub start: u64,
    /// The name its supervisor gave the worker process, if any.
    pub worker: Option<&'a str>,
}

impl<'a> OwnerToken<'a> {
    /// The parts of `token`; `None` for a token this anneal did not write.
    pub fn parse(token: &'a str) -> Option<Self> {
        let (namespace, rest) = token.split_once('@')?;
        let mut parts = rest.splitn(4, '/');
        let (host, pid, start, last) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        Some(Self {
            namespace,
            host,
            pid: pid.parse().ok()?,
            start: start.parse().unwrap_or(0),
            worker: last.rsplit_once('-').map(|(worker, _nonce)| worker),
        })
    }
}

/// A storage handle's owner token, `host/pid/start/nonce` (the process start time tells a
/// reused pid apart); it counts as alive in this process until dropped.
#[derive(Debug)]
pub(crate) struct Owner(String);

impl Owner {
    pub(crate) fn new() -> Self {
        let pid = std::process::id();
        let nonce: u64 = rand::random();
        // A supervised worker names itself, so its supervisor can tell its trials apart.
        let tag = std::env::var(WORKER_TAG_VARIABLE)
            .map(|t| t.replace(['/', '@'], "_") + "-")
            .unwrap_or_default();
        let token = format!(
            "{}/{pid}/{}/{tag}{nonce:016x}",
            host_name(),
            process_start(pid).unwrap_or_default()
        );
        let token = format!("{}@{token}", pid_namespace());
        live()
            .get_or_insert_with(HashSet::new)
            .insert(token.clone());
        Self(token)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(set) = live().as_mut() {
            set.remove(&self.0);
        }
    }
}

fn live() -> std::sync::MutexGuard<'static, Option<HashSet<String>>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// This process's pid namespace (its `/proc/self/ns/pid` link), so containers that share a
/// host name but not their process ids never judge each other's processes.
fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .map(|link| link.to_string_lossy().replace(['/', '@'], "_"))
        .unwrap_or_else(|_| "pid".into())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .unwrap_or_else(|| "localhost".into())
}

/// A running process's start time in clock ticks since boot (Linux), which a reused pid does
/// not share; `None` for a process that does not exist or has exited (a zombie).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// Whether `owner` names a process of this host that has exited (so its leases are void now).
/// Owners on other hosts, or tokens this cannot read, are left to their lease.
pub(crate) fn owner_is_gone(owner: &str) -> bool {
    let Some(token) = OwnerToken::parse(owner) else {
        return false;
    };
    if token.namespace != pid_namespace()
        || token.host != host_name()
        || !std::path::Path::new("/proc/self/stat").exists()
    {
        return false;
    }
    if token.pid == std::process::id() {
        // One of this process's own handles: gone once dropped.
        return !live().as_ref().is_some_and(|set| set.contains(owner));
    }
    match process_start(token.pid) {
        None => true,
        Some(now) => token.start != now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_an_exited_one_is_gone() {
        let owner = Owner::new();
        let me = owner.as_str().to_string();
        assert!(!owner_is_gone(&me), "{me}");
        drop(owner);
        assert!(
            owner_is_gone(&me),
            "a dropped handle of this process is gone"
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let host = me.split('/').next().unwrap();
        assert!(owner_is_gone(&format!("{host}/{pid}/1/0")));
        let namespace = me.split('@').next().unwrap();
        assert!(
            !owner_is_gone(&format!("{namespace}@elsewhere/1/1/0")),
            "other hosts keep their lease"
        );
        assert!(!owner_is_gone("garbage"));
    }

    #[test]
    fn an_owner_token_reads_back_into_its_parts() {
        let token =
            OwnerToken::parse("pid:[4026531836]@vm/13266/2803134/w-3-00ff00ff00ff00ff").unwrap();
        assert_eq!(token.namespace, "pid:[4026531836]");
        assert_eq!((token.host, token.pid, token.start), ("vm", 13266, 2803134));
        assert_eq!(token.worker, Some("w-3"), "a worker name may hold dashes");
        let plain = OwnerToken::parse("pid@vm/1/2/00ff00ff00ff00ff").unwrap();
        assert_eq!(plain.worker, None);
        assert_eq!(OwnerToken::parse("before-leases"), None);
    }
}
